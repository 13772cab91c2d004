"""City packs: the folder format, validation, import/export, the demo city and real cities."""
