"""The demo city's 12345 matters catalogue and its responsibility list (权责清单).

Three levels: category → group → matter (the leaves residents appeal about). Every leaf is
handled by a functional department type at district level and by the street office at street
level; a few are reserved to the city centre for coordination (they cross districts), some
are also taken up by community committees, and a few entries name a unit or hold only in a
subtree (the county's rural land, the port district's waters).
"""

from __future__ import annotations

from dataclasses import dataclass

from civitas.citypacks.demo.places import CITY

# Deadline profiles: URGENCY:RESPOND/RESOLVE (h hours, d days, wd working days).
STANDARD = "urgent:2h/24h;normal:24h/15wd;low:48h/20wd"
FAST = "urgent:1h/12h;normal:4h/48h;low:24h/7d"
SAFETY = "urgent:30m/12h;normal:2h/72h;low:24h/7d"
ENQUIRY = "normal:24h/5wd;low:48h/10wd"
SLOW = "urgent:4h/7d;normal:48h/20wd;low:72h/30wd"


@dataclass(frozen=True)
class Leaf:
    key: str
    name_en: str
    name_zh: str
    keywords_zh: tuple[str, ...]
    keywords_en: tuple[str, ...]
    district: str  # department type at district level
    urgency: str = "normal"
    deadlines: str = STANDARD
    city: bool = False  # reserved to the city centre (crosses districts)
    community: bool = False  # the community committee takes it up too


def L(
    key: str,
    en: str,
    zh: str,
    kw_zh: str,
    kw_en: str,
    district: str,
    *,
    urgency: str = "normal",
    deadlines: str = STANDARD,
    city: bool = False,
    community: bool = False,
) -> Leaf:
    """A leaf, written as a table row: keywords separated by '|'."""
    return Leaf(key, en, zh, tuple(kw_zh.split("|")), tuple(kw_en.split("|")), district,
                urgency, deadlines, city, community)  # fmt: skip


# (key, name_en, name_zh, [(key, name_en, name_zh, [leaves])])
# fmt: off
CATALOGUE: list[tuple[str, str, str, list[tuple[str, str, str, list[Leaf]]]]] = [
    ("01", "Housing and construction", "住房城乡建设", [
        ("01", "Property management", "物业管理", [
            L("01", "Lift out of service", "电梯故障", "电梯|困人|停运|电梯坏了",
              "lift|elevator|stuck in lift", "housing", urgency="urgent", deadlines=FAST,
              community=True),
            L("02", "Poor property management service", "物业服务质量差", "物业|保洁|保安|不作为",
              "property management|cleaning|security guard", "housing", community=True),
            L("03", "Property fee dispute", "物业费纠纷", "物业费|收费|涨价",
              "property fee|service charge", "housing", community=True),
            L("04", "Damaged shared facilities in a residential compound", "小区公共设施损坏",
              "公共设施|门禁|楼道灯|单元门", "shared facilities|gate|stairwell light", "housing"),
        ]),
        ("02", "Building safety", "房屋安全", [
            L("01", "Cracked or tilting building", "房屋裂缝倾斜", "裂缝|倾斜|危房|沉降",
              "crack|tilting|unsafe building|subsidence", "housing", urgency="urgent",
              deadlines=SAFETY),
            L("02", "Falling facade material", "外墙脱落", "外墙|瓷砖|脱落|空鼓",
              "facade|falling tiles", "housing", urgency="urgent", deadlines=SAFETY),
            L("03", "Leaking roof or walls", "房屋漏水", "漏水|渗水|楼顶|防水", "leak|roof|seepage",
              "housing"),
        ]),
        ("03", "Housing security", "住房保障", [
            L("01", "Public rental housing application", "公租房申请", "公租房|保障房|廉租房",
              "public rental housing|affordable housing", "housing", deadlines=ENQUIRY),
            L("02", "Old residential compound renovation", "老旧小区改造", "老旧小区|改造|加装电梯",
              "renovation|old compound|adding a lift", "housing", deadlines=SLOW),
        ]),
        ("04", "Construction sites", "建筑工地", [
            L("01", "Construction noise at night", "夜间施工扰民", "夜间施工|施工噪音|打桩",
              "night construction|construction noise|pile driving", "housing", urgency="urgent",
              deadlines=FAST),
            L("02", "Dust from construction sites", "工地扬尘", "扬尘|工地|渣土车",
              "construction dust|muck truck", "housing"),
        ]),
    ]),
    ("02", "City appearance and sanitation", "市容环卫", [
        ("01", "Sanitation", "环境卫生", [
            L("01", "Garbage not collected", "垃圾清运不及时", "垃圾|清运|垃圾桶|满溢",
              "garbage|rubbish|bins overflowing", "urban_management", deadlines=FAST,
              community=True),
            L("02", "Waste sorting", "垃圾分类", "垃圾分类|厨余|回收",
              "waste sorting|recycling|kitchen waste", "urban_management", urgency="low"),
            L("03", "Public toilets", "公共厕所", "公厕|厕所|异味", "public toilet|restroom",
              "urban_management"),
            L("04", "Street cleaning", "道路保洁", "道路|清扫|脏乱|落叶",
              "street cleaning|litter|dirty street", "urban_management"),
        ]),
        ("02", "Illegal construction", "违法建设", [
            L("01", "Unauthorised structures", "违章搭建", "违建|私搭乱建|加盖|违章建筑",
              "illegal construction|unauthorised structure|rooftop extension", "urban_management",
              deadlines=SLOW),
            L("02", "Unauthorised alteration of a building", "擅自改变房屋结构",
              "拆改|承重墙|破坏结构", "load-bearing wall|structural alteration", "urban_management",
              urgency="urgent", deadlines=SAFETY),
        ]),
        ("03", "Street order", "街面秩序", [
            L("01", "Street vending blocking the way", "占道经营", "占道|摊贩|流动摊点|夜市",
              "street vendors|stalls blocking pavement", "urban_management", deadlines=FAST),
            L("02", "Unsafe or illegal outdoor advertising", "户外广告", "广告牌|招牌|横幅",
              "billboard|signboard|banner", "urban_management"),
            L("03", "Bike-share clutter", "共享单车乱停放", "共享单车|乱停|堆放",
              "shared bikes|dockless bikes", "urban_management"),
            L("04", "Restaurant cooking fumes", "餐饮油烟扰民", "油烟|餐饮|烧烤",
              "cooking fumes|restaurant smoke|barbecue", "urban_management"),
        ]),
    ]),
    ("03", "Ecology and environment", "生态环境", [
        ("01", "Noise", "噪声污染", [
            L("01", "Industrial noise", "工业噪声", "工厂|噪音|机器轰鸣",
              "factory noise|machinery noise", "environment"),
            L("02", "Noise from neighbours and businesses", "社会生活噪声", "噪音|广场舞|装修|音响",
              "noise|square dancing|renovation noise|loud music", "public_security", deadlines=FAST,
              community=True),
            L("03", "Traffic noise", "交通噪声", "交通噪声|鸣笛|改装车",
              "traffic noise|honking|modified exhaust", "environment"),
        ]),
        ("02", "Air", "大气污染", [
            L("01", "Industrial emissions and odours", "工业废气异味", "废气|烟囱|异味|臭味",
              "fumes|smokestack|odour|bad smell", "environment"),
            L("02", "Open burning", "露天焚烧", "焚烧|烧垃圾|秸秆|烟雾",
              "open burning|burning rubbish|straw burning", "environment", deadlines=FAST),
        ]),
        ("03", "Water", "水污染", [
            L("01", "River pollution", "河道水体污染", "河道|污染|黑臭水体|死鱼",
              "river pollution|dead fish|black smelly water", "environment", urgency="urgent",
              city=True),
            L("02", "Illegal discharge of wastewater", "企业偷排污水", "偷排|排污|污水|暗管",
              "illegal discharge|wastewater|sewage pipe", "environment", urgency="urgent"),
            L("03", "Coastal and sea pollution", "海域污染", "海水|油污|赤潮|海滩垃圾",
              "oil spill|sea pollution|red tide|beach litter", "environment", urgency="urgent",
              city=True),
        ]),
    ]),
    ("04", "Transport", "交通出行", [
        ("01", "Public transport", "公共交通", [
            L("01", "Bus routes and frequency", "公交线路与班次", "公交|班次|线路|站点",
              "bus route|bus frequency|bus stop", "transport", urgency="low"),
            L("02", "Bus driver conduct", "公交司机服务", "司机|态度|甩站|急刹",
              "bus driver|rude driver|skipped stop", "transport"),
            L("03", "Taxi and ride-hailing complaints", "出租车网约车投诉",
              "出租车|网约车|绕路|拒载", "taxi|ride-hailing|detour|refused passenger", "transport"),
        ]),
        ("02", "Road facilities", "道路设施", [
            L("01", "Damaged road surface", "道路破损", "坑洼|路面|破损|塌陷",
              "pothole|road damage|sinkhole", "transport", deadlines=FAST),
            L("02", "Missing or broken manhole cover", "井盖缺失破损", "井盖|窨井|缺失",
              "manhole cover|missing cover", "urban_management", urgency="urgent",
              deadlines=SAFETY),
            L("03", "Traffic signal failure", "交通信号灯故障", "红绿灯|信号灯|不亮",
              "traffic light|signal failure", "public_security", urgency="urgent",
              deadlines=SAFETY),
            L("04", "Streetlight out", "路灯不亮", "路灯|照明|不亮", "streetlight|street lamp out",
              "urban_management"),
        ]),
        ("03", "Traffic order", "交通秩序", [
            L("01", "Illegal parking", "违章停车", "违停|乱停车|占用消防通道|堵门",
              "illegal parking|blocked driveway", "public_security", deadlines=FAST),
            L("02", "Congestion on arterial roads", "主干道交通拥堵", "拥堵|堵车|高架|隧道",
              "traffic jam|congestion|flyover|tunnel", "public_security", city=True),
            L("03", "Parking fees", "停车收费", "停车费|停车场|乱收费",
              "parking fee|car park charges", "market_supervision"),
        ]),
    ]),
    ("05", "Market supervision", "市场监管", [
        ("01", "Food safety", "食品安全", [
            L("01", "Unsafe food at restaurants", "餐饮食品安全", "食物中毒|变质|不卫生|吃坏",
              "food poisoning|spoiled food|unhygienic kitchen", "market_supervision",
              urgency="urgent", deadlines=SAFETY),
            L("02", "Unlicensed food business", "无证食品经营", "无证|黑作坊|无照",
              "unlicensed|illegal workshop", "market_supervision"),
        ]),
        ("02", "Consumer rights", "消费维权", [
            L("01", "Prepaid card refunds", "预付卡退费", "预付卡|退费|跑路|会员卡",
              "prepaid card|refund|gym closed|membership card", "market_supervision"),
            L("02", "Product quality", "商品质量", "质量|假冒伪劣|三无产品",
              "defective product|counterfeit", "market_supervision"),
            L("03", "Online shopping disputes", "网购纠纷", "网购|快递|退货|直播带货",
              "online shopping|parcel|return|livestream sales", "market_supervision"),
        ]),
        ("03", "Prices", "价格监管", [
            L("01", "Overcharging and price gouging", "价格欺诈", "乱收费|价格欺诈|哄抬|宰客",
              "overcharging|price gouging|rip-off", "market_supervision"),
        ]),
    ]),
    ("06", "Utilities", "公用事业", [
        ("01", "Water supply", "供水", [
            L("01", "Water outage", "停水", "停水|没水|断水", "no water|water outage", "water",
              urgency="urgent", deadlines=FAST),
            L("02", "Tap water quality", "水质问题", "水黄|有异味|水质|浑浊",
              "discoloured water|tap water quality|cloudy water", "water", deadlines=FAST),
            L("03", "Low water pressure", "水压低", "水压|水小|高层没水", "low pressure|weak flow",
              "water"),
        ]),
        ("02", "Electricity", "供电", [
            L("01", "Power outage", "停电", "停电|断电|跳闸", "power cut|blackout|outage",
              "utilities", urgency="urgent", deadlines=FAST),
            L("02", "Unsafe power facilities", "电力设施隐患", "电线|电箱|漏电|电线杆",
              "exposed wires|electric box|pole", "utilities", urgency="urgent", deadlines=SAFETY),
        ]),
        ("03", "Gas", "燃气", [
            L("01", "Gas leak", "燃气泄漏", "燃气|煤气|泄漏|气味", "gas leak|smell of gas",
              "utilities", urgency="urgent", deadlines=SAFETY),
            L("02", "Gas supply interruption", "燃气停供", "停气|没气|燃气表",
              "no gas|gas supply|gas meter", "utilities", deadlines=FAST),
        ]),
    ]),
    ("07", "Labour and social security", "劳动社保", [
        ("01", "Labour rights", "劳动权益", [
            L("01", "Unpaid wages", "拖欠工资", "欠薪|拖欠工资|讨薪|不发工资",
              "unpaid wages|wage arrears", "human_resources"),
            L("02", "Labour contract disputes", "劳动合同纠纷", "劳动合同|辞退|加班|赔偿",
              "dismissal|labour contract|overtime|compensation", "human_resources"),
            L("03", "Migrant workers' wages on building sites", "农民工工资",
              "农民工|工地|工程款|包工头", "migrant workers|construction wages|subcontractor",
              "human_resources", urgency="urgent"),
        ]),
        ("02", "Social insurance", "社会保险", [
            L("01", "Social insurance contributions", "社保缴纳", "社保|缴费|断缴",
              "social insurance|contributions", "human_resources", deadlines=ENQUIRY),
            L("02", "Pension payment", "养老金发放", "养老金|退休金|待遇", "pension|retirement pay",
              "human_resources"),
            L("03", "Medical insurance reimbursement", "医保报销", "医保|报销|异地就医",
              "medical insurance|reimbursement", "health"),
        ]),
        ("03", "Employment", "就业服务", [
            L("01", "Employment and start-up services", "就业创业咨询", "就业|招聘|创业|补贴",
              "job|employment|start-up|subsidy", "human_resources", urgency="low",
              deadlines=ENQUIRY),
            L("02", "Vocational training", "职业培训", "培训|技能|证书",
              "vocational training|skills certificate", "human_resources", urgency="low",
              deadlines=ENQUIRY),
        ]),
    ]),
    ("08", "Health", "卫生健康", [
        ("01", "Medical services", "医疗服务", [
            L("01", "Hospital service complaints", "医院服务投诉", "医院|态度|挂号|排队",
              "hospital|registration|rude doctor|queue", "health"),
            L("02", "Medical disputes", "医疗纠纷", "医疗事故|医疗纠纷|误诊",
              "medical dispute|malpractice|misdiagnosis", "health"),
        ]),
        ("02", "Public health", "公共卫生", [
            L("01", "Infectious disease reports", "传染病疫情", "传染病|疫情|发热|聚集",
              "infectious disease|outbreak|fever cluster", "health", urgency="urgent",
              deadlines=SAFETY, city=True),
            L("02", "Rats, mosquitoes and pests", "病媒生物", "老鼠|蚊子|蟑螂|白蚁",
              "rats|mosquitoes|cockroaches|termites", "health", community=True),
            L("03", "Smoking in public places", "公共场所吸烟", "吸烟|控烟|二手烟",
              "smoking|second-hand smoke", "health", urgency="low"),
        ]),
    ]),
    ("09", "Education", "教育", [
        ("01", "Schools", "学校管理", [
            L("01", "School and kindergarten places", "入学入园", "入学|学位|幼儿园|划片",
              "school enrolment|kindergarten|catchment", "education", deadlines=ENQUIRY),
            L("02", "Safety around schools", "校园周边安全", "学校周边|校门口|接送",
              "school surroundings|school gate|school run", "education", deadlines=FAST),
            L("03", "Off-campus tutoring", "校外培训", "培训机构|补课|退费",
              "tutoring|training centre|cram school", "education"),
        ]),
        ("02", "Fees", "教育收费", [
            L("01", "Unauthorised school fees", "学校乱收费", "乱收费|学费|资料费",
              "school fees|unauthorised charges", "education"),
        ]),
    ]),
    ("10", "Civil affairs", "民政服务", [
        ("01", "Elderly care", "养老服务", [
            L("01", "Elderly care homes", "养老机构", "养老院|敬老院|护理",
              "care home|nursing home", "civil_affairs"),
            L("02", "Home-based elderly care", "居家养老", "助餐|居家养老|独居老人",
              "meals for the elderly|home care|elderly living alone", "civil_affairs",
              community=True),
        ]),
        ("02", "Social assistance", "社会救助", [
            L("01", "Minimum living allowance", "最低生活保障", "低保|困难|救助金",
              "minimum living allowance|hardship", "civil_affairs", deadlines=ENQUIRY),
            L("02", "Homeless and begging people", "流浪乞讨", "流浪|乞讨|露宿",
              "homeless|begging|sleeping rough", "civil_affairs", urgency="urgent", deadlines=FAST),
        ]),
        ("03", "Registration and funerals", "婚姻殡葬", [
            L("01", "Funeral services", "殡葬服务", "殡葬|墓地|骨灰", "funeral|cemetery",
              "civil_affairs"),
            L("02", "Marriage registration", "婚姻登记", "婚姻登记|结婚|离婚",
              "marriage registration|divorce", "civil_affairs", urgency="low", deadlines=ENQUIRY),
        ]),
    ]),
    ("11", "Public safety", "公共安全", [
        ("01", "Public order", "社会治安", [
            L("01", "Public order concerns", "治安隐患", "治安|打架|可疑人员|盗窃",
              "fighting|suspicious person|theft", "public_security", urgency="urgent",
              deadlines=SAFETY),
            L("02", "Telecom and online fraud", "电信网络诈骗", "诈骗|电信诈骗|刷单",
              "scam|fraud call|online fraud", "public_security"),
        ]),
        ("02", "Fire and workplace safety", "消防与安全生产", [
            L("01", "Blocked fire escapes", "消防通道堵塞", "消防通道|堵塞|安全出口",
              "fire escape blocked|emergency exit", "emergency", urgency="urgent", deadlines=SAFETY,
              community=True),
            L("02", "Workplace safety hazards", "安全生产隐患", "安全隐患|危化品|违规作业",
              "safety hazard|hazardous chemicals", "emergency", urgency="urgent", deadlines=SAFETY),
            L("03", "Unsafe e-bike charging", "电动车违规充电", "电动车|飞线充电|楼道充电",
              "e-bike charging|cables from windows", "emergency", deadlines=FAST, community=True),
        ]),
    ]),
    ("12", "Drainage and rivers", "排水与河湖", [
        ("01", "Drainage", "城市排水", [
            L("01", "Blocked sewers", "下水道堵塞", "下水道|堵塞|污水外溢|化粪池",
              "blocked drain|sewage overflow|septic tank", "water", deadlines=FAST),
            L("02", "Flooded roads", "道路积水", "积水|内涝|淹水", "flooding|waterlogging", "water",
              urgency="urgent", deadlines=SAFETY, city=True),
        ]),
        ("02", "Rivers and lakes", "河湖管理", [
            L("01", "Litter in rivers", "河道垃圾", "河道垃圾|漂浮物|水葫芦",
              "river litter|floating rubbish|water hyacinth", "water"),
            L("02", "Damaged embankments", "河堤损坏", "堤坝|护栏|塌方",
              "embankment|riverbank railing|collapse", "water", urgency="urgent", deadlines=SAFETY),
        ]),
    ]),
    ("13", "Parks and greening", "园林绿化", [
        ("01", "Trees and green space", "树木绿地", [
            L("01", "Fallen or dangerous trees", "树木倒伏", "倒树|断枝|树木倾斜",
              "fallen tree|broken branch|leaning tree", "parks", urgency="urgent",
              deadlines=SAFETY),
            L("02", "Encroachment on green space", "毁绿占绿", "毁绿|占绿|砍树",
              "damage to green space|tree felling", "parks"),
        ]),
        ("02", "Parks", "公园管理", [
            L("01", "Park facilities", "公园设施", "公园|健身器材|座椅",
              "park|fitness equipment|bench", "parks", urgency="low"),
        ]),
    ]),
    ("14", "Agriculture and rural affairs", "农业农村", [
        ("01", "Farming", "农业生产", [
            L("01", "Quality of seeds and fertiliser", "农资质量", "种子|化肥|农药",
              "seeds|fertiliser|pesticide", "agriculture"),
            L("02", "Animal disease prevention", "动物防疫", "动物疫情|病死猪|防疫",
              "animal disease|dead livestock", "agriculture", urgency="urgent", deadlines=SAFETY),
        ]),
        ("02", "Village life", "农村人居", [
            L("01", "Village roads", "农村道路", "村道|乡村道路|机耕路", "village road|farm track",
              "transport"),
            L("02", "Homestead land disputes", "宅基地纠纷", "宅基地|建房|土地",
              "homestead|rural housing plot", "natural_resources", deadlines=SLOW),
        ]),
    ]),
    ("15", "Culture and tourism", "文化旅游", [
        ("01", "Tourism", "旅游市场", [
            L("01", "Tour group complaints", "旅游投诉", "旅行社|导游|强制购物",
              "travel agency|tour guide|forced shopping", "culture_tourism"),
            L("02", "Scenic areas", "景区管理", "景区|门票|排队", "scenic spot|tickets|queues",
              "culture_tourism"),
        ]),
        ("02", "Culture market", "文化市场", [
            L("01", "Internet cafés and entertainment venues", "网吧娱乐场所", "网吧|KTV|未成年人",
              "internet café|karaoke|minors", "culture_tourism"),
        ]),
    ]),
]
# fmt: on


def matter_code(*keys: str) -> str:
    return f"{CITY}-M" + "-".join(keys)


def leaves() -> list[tuple[str, Leaf]]:
    return [
        (matter_code(ck, gk, leaf.key), leaf)
        for ck, _, _, groups in CATALOGUE
        for gk, _, _, items in groups
        for leaf in items
    ]


def matter_rows() -> list[dict[str, str]]:
    """Rows of matters.csv, parents before children."""
    rows: list[dict[str, str]] = []
    blank = {"keywords": "", "urgency_default": "", "deadlines": "", "responsible": ""}
    for ck, c_en, c_zh, groups in CATALOGUE:
        ccode = matter_code(ck)
        rows.append({"code": ccode, "parent": "", "name_en": c_en, "name_zh": c_zh, **blank})
        for gk, g_en, g_zh, items in groups:
            gcode = matter_code(ck, gk)
            rows.append({"code": gcode, "parent": ccode, "name_en": g_en, "name_zh": g_zh, **blank})
            for leaf in items:
                responsible = [f"district:{leaf.district}", "street:street_office"]
                if leaf.city:
                    responsible.insert(0, f"city:{leaf.district}")
                if leaf.community:
                    responsible.append("community:community")
                rows.append(
                    {
                        "code": matter_code(ck, gk, leaf.key),
                        "parent": gcode,
                        "name_en": leaf.name_en,
                        "name_zh": leaf.name_zh,
                        "keywords": "|".join(leaf.keywords_zh + leaf.keywords_en),
                        "urgency_default": leaf.urgency,
                        "deadlines": leaf.deadlines,
                        "responsible": ";".join(responsible),
                    }
                )
    return rows


# Entries that name a unit instead of a department type (utilities run by enterprises).
NAMED_UNITS = {
    matter_code("06", "01", "01"): f"{CITY}-WATERCO",
    matter_code("06", "02", "01"): f"{CITY}-POWERCO",
    matter_code("06", "03", "01"): f"{CITY}-GASCO",
    matter_code("06", "03", "02"): f"{CITY}-GASCO",
    matter_code("04", "01", "01"): f"{CITY}-BUSCO",
}
COUNTY = f"{CITY}-D06"
PORT_DISTRICT = f"{CITY}-D05"


def responsibility_rows() -> list[dict[str, str]]:
    """Rows of responsibilities.csv: every leaf at district and street level, and more."""
    rows: list[dict[str, str]] = []

    def add(
        matter: str,
        level: str,
        *,
        unit_type: str = "",
        unit: str = "",
        jurisdiction: str = "",
        city_coordinates: bool = False,
        note: str = "",
    ) -> None:
        rows.append(
            {
                "matter": matter,
                "level": level,
                "jurisdiction": jurisdiction,
                "unit_type": unit_type,
                "unit": unit,
                "city_coordinates": "true" if city_coordinates else "false",
                "note": note,
            }
        )

    for code, leaf in leaves():
        if leaf.city:
            add(
                code,
                "city",
                unit_type=leaf.district,
                city_coordinates=True,
                note="Crosses districts: the city centre coordinates, the city bureau leads.",
            )
        if code in NAMED_UNITS:
            add(
                code,
                "district",
                unit=NAMED_UNITS[code],
                note="Operated by a city-wide enterprise under the department's supervision.",
            )
        else:
            add(code, "district", unit_type=leaf.district)
        add(code, "street", unit_type="street_office")
        if leaf.community:
            add(code, "community", unit_type="community")
    # Subtree exceptions.
    add(
        matter_code("02", "02", "01"),
        "district",
        unit_type="natural_resources",
        jurisdiction=COUNTY,
        note="Rural land in the county: the natural resources bureau acts.",
    )
    add(
        matter_code("12", "02", "01"),
        "district",
        unit_type="agriculture",
        jurisdiction=COUNTY,
        note="Village rivers in the county: the agriculture bureau acts.",
    )
    add(
        matter_code("03", "03", "03"),
        "district",
        unit=f"{CITY}-PORTCO",
        jurisdiction=PORT_DISTRICT,
        note="Port waters: the port group cleans up first.",
    )
    add(
        matter_code("03", "03", "03"),
        "street",
        unit=f"{PORT_DISTRICT}-S01-OFFICE",
        jurisdiction=PORT_DISTRICT,
        note="One street office takes every shore report in the port district.",
    )
    return rows
