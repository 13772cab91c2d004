"""Appeals (接诉即办): intake, the case lifecycle, deadlines, the resident's verdict."""
