"""Names and department mapping for the Boston pack: data tables only, no logic."""

from __future__ import annotations

from dataclasses import dataclass

NEIGHBOURHOODS_ZH = {
    "Allston": "奥尔斯顿",
    "Back Bay": "后湾",
    "Bay Village": "海湾村",
    "Beacon Hill": "灯塔山",
    "Brighton": "布赖顿",
    "Charlestown": "查尔斯敦",
    "Chinatown": "唐人街",
    "Dorchester": "多切斯特",
    "Downtown": "市中心",
    "East Boston": "东波士顿",
    "Fenway": "芬威",
    "Harbor Islands": "港湾群岛",
    "Hyde Park": "海德公园",
    "Jamaica Plain": "牙买加平原",
    "Leather District": "皮革区",
    "Longwood": "朗伍德",
    "Mattapan": "马塔潘",
    "Mission Hill": "米申山",
    "North End": "北角",
    "Roslindale": "罗斯林代尔",
    "Roxbury": "罗克斯伯里",
    "South Boston": "南波士顿",
    "South Boston Waterfront": "南波士顿滨水区",
    "South End": "南角",
    "West End": "西角",
    "West Roxbury": "西罗克斯伯里",
}


@dataclass(frozen=True)
class Dept:
    code: str
    name_en: str
    name_zh: str
    department_type: str  # empty for the centre
    short: str = ""  # the Department code of the requests file, if the unit has one


CENTRE = Dept("BOS-CENTRE", "Mayor's 24 Hour Hotline", "市长24小时热线", "", "INFO")

# SUBJECT (owning department's long name) -> unit. The hotline is the city centre.
SUBJECTS: dict[str, Dept] = {
    "Mayor's 24 Hour Hotline": CENTRE,
    "Public Works Department": Dept(
        "BOS-PWD", "Public Works Department", "公共工程局", "urban_management", "PWDx"
    ),
    "Inspectional Services": Dept(
        "BOS-ISD", "Inspectional Services", "房屋与建筑检查局", "housing", "ISD"
    ),
    "Transportation - Traffic Division": Dept(
        "BOS-BTD", "Transportation - Traffic Division", "交通局交通处", "transport", "BTDT"
    ),
    "Parks & Recreation Department": Dept(
        "BOS-PARKS", "Parks & Recreation Department", "公园与休闲局", "parks", "PARK"
    ),
    "Property Management": Dept(
        "BOS-PROP", "Property Management", "市政物业管理局", "urban_management", "PROP"
    ),
    "Animal Control": Dept("BOS-ANML", "Animal Control", "动物管理处", "other", "ANML"),
    "Civil Rights": Dept("BOS-OCR", "Civil Rights", "民权办公室", "civil_affairs", "HS_O"),
    "Boston Water & Sewer Commission": Dept(
        "BOS-BWSC", "Boston Water & Sewer Commission", "波士顿供水与排水委员会", "water", "BWSC"
    ),
    "Disability Department": Dept(
        "BOS-DISB", "Disability Department", "残障人士事务委员会", "civil_affairs", "DISB"
    ),
    "Youthline": Dept("BOS-YOUTH", "Youthline", "青少年热线", "civil_affairs", "HS_Y"),
    "City Hall Truck": Dept("BOS-CHT", "City Hall Truck", "市政厅流动服务车", "other", "CHT_"),
    "Veterans": Dept("BOS-VETS", "Veterans", "退伍军人服务处", "civil_affairs", "HS_V"),
    "Boston Police Department": Dept(
        "BOS-BPD", "Boston Police Department", "波士顿警察局", "public_security"
    ),
    "Neighborhood Services": Dept(
        "BOS-ONS", "Neighborhood Services", "社区服务办公室", "civil_affairs"
    ),
    "Consumer Affairs & Licensing": Dept(
        "BOS-CAL", "Consumer Affairs & Licensing", "消费者事务与执照办公室", "market_supervision"
    ),
}

# Department codes of handling queues that own no SUBJECT of their own.
EXTRA_DEPARTMENTS: dict[str, Dept] = {
    "GEN_": CENTRE,  # the needle pickup queue, worked from the hotline
    "BPS_": Dept(
        "BOS-BPS",
        "Boston Public Schools - Transportation",
        "波士顿公立学校交通处",
        "education",
        "BPS_",
    ),
    "HS_D": Dept(
        "BOS-HSD", "Human Services - Disabilities", "公众服务部残障事务处", "civil_affairs", "HS_D"
    ),
}
NO_QUEUE = "No Q"  # "No Queue Assigned To User": not a team

REASONS_ZH = {
    "Animal Issues": "动物问题",
    "Noise Disturbance": "噪音扰民",
    "Administrative & General Requests": "行政与一般请求",
    "Billing": "账单",
    "Catchbasin": "雨水口",
    "Fire Hydrant": "消防栓",
    "Pothole": "路面坑洼",
    "Water Issues": "供水问题",
    "Administration": "行政",
    "Call Inquiry": "来电咨询",
    "Investigations and Enforcement": "调查与执法",
    "Metrolist": "Metrolist住房名录",
    "Survey": "调查问卷",
    "Consumer Affairs Issues": "消费者事务",
    "Disability": "残障事务",
    "Building": "建筑",
    "Code Enforcement": "法规执行",
    "Environmental Services": "环境服务",
    "Health": "卫生",
    "Housing": "住房",
    "Weights and Measures": "计量",
    "Abandoned Bicycle": "废弃自行车",
    "Air Pollution Control": "空气污染控制",
    "Alert Boston": "波士顿警报",
    "Employee & General Comments": "员工及一般意见",
    "Fire Department": "消防局",
    "General Request": "一般请求",
    "Generic Noise Disturbance": "一般噪音扰民",
    "MBTA": "公共交通（MBTA）",
    "Massport": "马萨诸塞港务局",
    "Needle Program": "针具回收",
    "Notification": "通知",
    "Programs": "项目",
    "Neighborhood Services Issues": "社区服务问题",
    "Cemetery": "墓地",
    "Park Maintenance & Safety": "公园维护与安全",
    "Trees": "树木",
    "Graffiti": "涂鸦",
    "Bridge Maintenance": "桥梁维护",
    "Highway Maintenance": "道路维护",
    "Recycling": "回收",
    "Sanitation": "环卫",
    "Street Cleaning": "街道清扫",
    "Street Lights": "路灯",
    "Boston Bikes": "波士顿自行车",
    "Enforcement & Abandoned Vehicles": "执法与废弃车辆",
    "Office of The Parking Clerk": "停车事务办公室",
    "Operations": "运营",
    "Parking Complaints": "停车投诉",
    "Signs & Signals": "标志与信号灯",
    "Traffic Management & Engineering": "交通管理与工程",
    "Valet": "代客泊车",
    "Participatory Budgeting Idea Collection": "参与式预算意见征集",
}
