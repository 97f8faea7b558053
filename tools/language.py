"""Questions in Chinese, as code's rules read them: with an English gloss.

The model reads Chinese itself. The code around it does not: the rules that check a call against
the question's words (tools/evidence.py, assistant/screen.py) and the search for solved examples
look for English words, so without a gloss they drop a period the question names ("上周"), take a
question of no English words for a follow-up, and find no example near it. `english_reading`
appends the English of the terms it knows (periods, events, metrics, dimensions, the words of a
question's shape), in the order the question has them; numbers and dates are written out the way
the English rules read them ("近30天" as "last 30 days", "2017年12月" as "in December 2017").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from pypinyin import lazy_pinyin

CJK = re.compile(r"[\u4e00-\u9fff]")

MONTH_NAMES = (
    "January February March April May June July August September October November December"
).split()

# Longest terms are matched first ("购物车放弃率" before "购物车"); one character alone only where
# it cannot be a part of a longer word the table lacks.
GLOSSARY: dict[str, str] = {
    # periods
    "今天": "today",
    "今日": "today",
    "昨天": "yesterday",
    "昨日": "yesterday",
    "前天": "the day before yesterday",
    "本周": "this week",
    "这周": "this week",
    "这一周": "this week",
    "这个星期": "this week",
    "这星期": "this week",
    "上周": "last week",
    "上星期": "last week",
    "上个星期": "last week",
    "上一周": "last week",
    "本月": "this month",
    "这个月": "this month",
    "当月": "this month",
    "上月": "last month",
    "上个月": "last month",
    "上一个月": "last month",
    "本季度": "this quarter",
    "这个季度": "this quarter",
    "上季度": "last quarter",
    "上个季度": "last quarter",
    "今年": "this year",
    "本年": "this year",
    "去年": "last year",
    "全年": "the whole year",
    "周末": "weekend",
    "工作日": "weekday",
    "星期几": "day of week weekday",
    "周几": "day of week weekday",
    "一周中哪一天": "which day of week weekday",
    "一周里哪一天": "which day of week weekday",
    "一周中哪天": "which day of week weekday",
    "一周里哪天": "which day of week weekday",
    "一周哪天": "which day of week weekday",
    "哪一天": "which day",
    "恰好": "exactly",
    "刚好": "exactly",
    "正好": "exactly",
    "哪天": "which day",
    "哪个月": "which month",
    "哪一个月": "which month",
    "哪一周": "which week",
    "哪个营业日": "which trading day",
    "哪个交易日": "which trading day",
    "营业日": "trading day",
    "交易日": "trading day",
    "每小时": "per hour hourly",
    "每天": "per day daily",
    "每日": "per day daily",
    "按天": "by day daily",
    "按日": "by day daily",
    "每周": "per week weekly",
    "按周": "by week weekly",
    "每月": "per month monthly",
    "每个月": "per month monthly",
    "每一个月": "per month monthly",
    "每一天": "per day daily",
    "每个小时": "per hour hourly",
    "每个星期": "per week weekly",
    "每一周": "per week weekly",
    "按月": "by month monthly",
    "每季度": "per quarter quarterly",
    "每个季度": "per quarter quarterly each quarter",
    "每一个季度": "per quarter quarterly each quarter",
    "季度": "quarter",
    "按小时": "by hour hourly",
    "午夜": "midnight",
    "中午": "noon",
    "上午": "in the morning",
    "早上": "in the morning",
    "下午": "in the afternoon",
    "晚上": "in the evening",
    "夜里": "at night",
    "深夜": "late night",
    "半夜": "at night",
    "凌晨": "at night",
    "一天中什么时候": "what time of day",
    "一天中的什么时候": "what time of day",
    "几点": "what time of day",
    "最近": "recent",
    "近期": "recent",
    "期间": "during",
    "之前": "before",
    "以前": "before",
    "之后": "after",
    "以后": "after",
    # events
    "浏览量": "views",
    "浏览数": "views",
    "商品浏览量": "product views",
    "商品浏览数": "product views",
    "商品浏览次数": "product views",
    "浏览": "viewed",
    "查看": "viewed",
    "点击": "clicks views",
    "访问": "visits",
    "加入购物车": "added to cart",
    "加购率": "add to cart rate",
    "加购": "added to cart",
    "购物车放弃率": "cart abandonment rate",
    "弃购率": "cart abandonment rate",
    "弃购": "abandoned carts",
    "购物车": "cart",
    "收藏": "favorites",
    "购买": "purchases",
    "买": "bought",  # 买了 / 买过; 购买 and 买家 are matched first, being longer
    "下单": "orders ordered",
    "下过单": "ordered",
    "下过": "ordered",
    "下了单": "ordered",
    "订单数": "number of orders",
    "订单": "orders",
    "搜索词": "search terms",
    "搜索": "searches",
    "退货": "returns",
    # metrics
    "转化率": "conversion rate",
    "客单价": "average order value",
    # "周几下的单平均金额最高": an order's average value
    "单平均金额": "average order value",
    "每单平均金额": "average order value",
    "平均每单金额": "average order value",
    "平均订单金额": "average order value",
    "单均金额": "average order value",
    "复购率": "repeat purchase rate",
    "回购率": "repeat purchase rate",
    "复购": "repeat purchase",
    "销售额": "revenue",
    "营业额": "revenue",
    "成交额": "revenue",
    "月份": "month",
    "收入": "revenue",
    "营收": "revenue",
    "销量": "units sold",
    "件数": "units",
    "每单": "per order",
    "每笔订单": "per order",
    "平均价格": "average price",
    "均价": "average price",
    "单价": "unit price",
    "人均": "per user",
    "活跃用户": "active users",
    "活跃天数": "active days",
    "活跃": "active",
    "张数": "units",
    "新用户": "new users",
    "新客": "new customers",
    "老客": "returning customers",
    "首单": "first orders",
    "最近一单": "latest order",
    "最后一单": "latest order",
    "上一单": "previous order",
    "第一单": "first order",
    "第二单": "second order",
    "每一单": "every single order",
    "每一笔订单": "every single order",
    "任何一笔订单": "any single order",
    "任何一单": "any single order",
    "回访": "returning",
    "购物者": "shoppers",
    "除以": "divided by",
    "以外": "outside",
    "先不算": "leaving aside excluding",
    "送到": "delivered",
    "重度用户": "heavy users",
    # one value against the rest: "与其他国家相比", "其余品牌"
    "其他国家": "other countries",
    "其它国家": "other countries",
    "其他品牌": "other brands",
    "其它品牌": "other brands",
    "其他类目": "other categories",
    "其他品类": "other categories",
    "其他商品": "other products",
    "其余": "the rest",
    "其他": "others",
    "其它": "others",
    "之外": "outside",
    "截至目前": "so far",
    "到目前为止": "so far",
    "迄今": "so far",
    "只被一个": "by only one",
    "只有一个": "only one",
    "周一": "Monday",
    "周二": "Tuesday",
    "周三": "Wednesday",
    "周四": "Thursday",
    "周五": "Friday",
    "周六": "Saturday",
    "周日": "Sunday",
    "星期一": "Monday",
    "星期二": "Tuesday",
    "星期三": "Wednesday",
    "星期四": "Thursday",
    "星期五": "Friday",
    "星期六": "Saturday",
    "星期日": "Sunday",
    "星期天": "Sunday",
    "复购单": "repeat orders",
    "相邻两单": "consecutive orders",
    "相邻订单": "consecutive orders",
    "间隔": "gap between",
    "隔多少天": "how many days between",
    "最久": "longest",
    "最长": "longest",
    "流失": "churn",
    "成交笔数": "number of orders",
    "成交量": "units sold",
    "支付金额": "revenue",
    "付款金额": "revenue",
    "订单金额": "order value",
    "每单金额": "order value",
    "单笔金额": "order value",
    "发票金额": "invoice value",
    "贡献": "contributed",
    "是谁": "who",
    "谁": "who",
    "订单量": "number of orders",
    "消费金额": "spend",
    "消费": "spend",
    "消费者": "customers",
    "花费": "spent",
    "花了": "spent",
    "访问量": "visits",
    "访问次数": "visits sessions",
    "流量": "traffic visits",
    "独立访客": "unique visitors",
    "跳出率": "bounce rate",
    "购物篮": "basket",
    "加到购物车": "added to cart",
    "放进购物车": "added to cart",
    "放入购物车": "added to cart",
    "回头客": "returning customers",
    "老用户": "returning users",
    "老顾客": "returning customers",
    "重复购买": "repeat purchase",
    "再次购买": "bought again",
    "回购": "bought again",
    "留存率": "retention rate",
    "留存": "retention",
    "同期群": "cohort",
    "漏斗": "funnel",
    "笔单价": "average order value",
    "件单价": "average selling price",
    "连带率": "basket size units per order",
    "热销": "best selling top",
    "畅销": "best selling top",
    "爆款": "best selling top",
    "滞销": "slow selling lowest",
    "最受欢迎": "most popular",
    "时段": "time of day",
    "高峰": "peak",
    "浏览次数": "views",
    "购买人数": "buyers",
    "购买用户": "buyers",
    "下单用户": "buyers",
    "首次": "first",
    "第一次": "first",
    "最后一次": "last",
    "天数": "days",
    "增长率": "growth rate",
    "日均": "average per day daily",
    "走势": "trend",
    "取消": "cancelled",
    "退单": "returns",
    "行数": "number of lines",
    "多少行": "how many lines",
    "重新订购": "reordered",
    "再次订购": "reordered",
    "重新购买": "bought again",
    "一单": "one order",
    "累计": "total cumulative",
    # a customer's total to date, not a running figure over time
    "累计消费": "lifetime spend",
    "累计花费": "lifetime spend",
    "累计消费金额": "lifetime spend",
    "购物": "shopping",
    "行为类型": "event types",
    "同一天": "same day",
    "同一个会话": "same session",
    "同一会话": "same session",
    "同一个": "same",
    "上半年": "first half of the year",
    "下半年": "second half of the year",
    "时间段": "time of day",
    "新增": "new",
    "金额": "amount spend",
    "多少钱": "how much money",
    "单笔": "single per order",
    "最好": "best top",
    "最贵": "most expensive highest price",
    "最便宜": "cheapest lowest price",
    "卖": "sold",  # 卖出 / 卖得; 卖家 is matched first, being longer
    "逛": "browsed",
    "只逛不买": "viewed but never bought",
    "不买": "not bought",
    "没买": "not bought",
    "多少人": "how many users",
    "人数": "number of users",
    "多少件": "how many units",
    "几件": "how many units",
    "多少种": "how many distinct",
    "几种": "how many distinct",
    "一次": "once",
    "最近一次": "latest",
    "上一次": "previous",
    "下一次": "next time",
    "两次": "twice",
    "周均": "average per week weekly",
    "月均": "average per month monthly",
    # dimensions and things counted
    "品牌": "brands",
    "唱片公司": "record labels",
    "唱片": "records",
    "歌手": "artists",
    "艺人": "artists",
    "类目": "categories",
    "品类": "categories",
    "分类": "categories",
    "类别": "categories",
    "子类目": "subcategory",
    "二级类目": "subcategory",
    "子品类": "subcategory",
    "子分类": "subcategory",
    "细分品类": "subcategory",
    "二级品类": "subcategory",
    "最细的那一级品类": "subcategory",
    "一级类目": "top-level categories",
    "部门": "departments",
    "货架": "aisles",
    "通道": "aisles",
    "商品": "products",
    "产品": "products",
    "国家": "countries",
    "地区": "country region",
    "设备": "devices",
    "手机端": "mobile",
    "移动端": "mobile",
    "电脑端": "desktop",
    "渠道": "channels",
    "来源": "source",
    "价格": "price",
    "小时": "hour",
    "会话": "sessions",
    "用户": "users",
    "顾客": "customers",
    "客户": "customers",
    "买家": "buyers",
    "访客": "visitors",
    "事件": "events",
    # categories that analysts name in Chinese (the data's own values are English)
    "电子产品": "electronics",
    "手机": "smartphone phone",
    "电脑": "computers",
    "笔记本": "notebook laptop",
    "服装": "apparel clothing",
    "衣服": "apparel clothing",
    "鞋": "shoes",
    "美妆": "beauty cosmetics",
    "化妆品": "beauty cosmetics",
    "图书": "books",
    "书籍": "books",
    "家电": "appliances",
    "耳机": "headphone",
    "智能手机": "smartphone phone",
    "平板": "tablet",
    "电视": "tv",
    "冰箱": "refrigerator",
    "洗衣机": "washer",
    "相机": "camera",
    "手表": "watch",
    "音箱": "audio speaker",
    "圣诞": "christmas",
    "蜡烛": "candle",
    "杯子": "mug cup",
    "香蕉": "banana",
    "牛奶": "milk",
    "鸡蛋": "eggs",
    "水果": "fruit",
    "蔬菜": "vegetables",
    "家居": "home furniture",
    "家具": "furniture",
    "玩具": "toys",
    "运动": "sports",
    "食品": "food",
    "母婴": "baby kids",
    # what the data lacks (the decline rules look for these words)
    "利润": "profit",
    "毛利": "margin",
    "成本": "cost of goods",
    "广告费": "ad spend",
    "投放": "ad spend",
    "年龄": "age",
    "性别": "gender",
    "运费": "shipping",
    "物流": "shipping delivery",
    "配送": "delivery",
    "发货": "dispatch",
    "评分": "rating",
    "评价": "reviews",
    "好评": "reviews",
    "商品名称": "product names",
    "商品名": "product names",
    "商品标题": "product titles",
    "发票": "invoices",
    "订单行": "order lines",
    "明细行": "lines",
    "海外": "abroad",
    "国外": "abroad",
    "境外": "abroad",
    # countries, as the data spells them (Online Retail, REES46 users)
    "英国": "United Kingdom",
    "德国": "Germany",
    "法国": "France",
    "爱尔兰": "EIRE Ireland",
    "西班牙": "Spain",
    "荷兰": "Netherlands",
    "比利时": "Belgium",
    "瑞士": "Switzerland",
    "葡萄牙": "Portugal",
    "澳大利亚": "Australia",
    "挪威": "Norway",
    "意大利": "Italy",
    "芬兰": "Finland",
    "瑞典": "Sweden",
    "奥地利": "Austria",
    "丹麦": "Denmark",
    "日本": "Japan",
    "波兰": "Poland",
    "美国": "USA United States",
    "加拿大": "Canada",
    "希腊": "Greece",
    "新加坡": "Singapore",
    "中国": "China",
    "北京": "Beijing city",
    "北京时间": "Beijing time",  # a clock (UTC+8), not a place the data lacks
    "上海": "Shanghai city",
    "广州": "Guangzhou city",
    "深圳": "Shenzhen city",
    "杭州": "Hangzhou city",
    "成都": "Chengdu city",
    # brands, as the data spells them
    "苹果": "apple",
    "三星": "samsung",
    "小米": "xiaomi",
    "华为": "huawei",
    "下雨": "rain",
    "雨天": "rainy days",
    "天气": "weather",
    "销售代表": "sales reps",
    "客户经理": "account managers staff",
    "员工": "staff",
    "店员": "staff",
    "叫什么名字": "what is it called",
    "真实的": "actual",
    "真正的": "actual",
    "名字": "names",
    "店铺": "stores",
    "卖家": "sellers",
    "商家": "merchants sellers",
    "门店": "store locations",
    "库存": "inventory",
    "缺货": "out of stock",
    "断货": "out of stock",
    "售罄": "out of stock",
    "到货": "restock",
    "优惠券": "coupons",
    "优惠码": "discount codes",
    "支付方式": "payment methods",
    "城市": "city",
    "手机号": "phone numbers",
    "姓名": "full names",
    "浏览器": "which browser",
    "退款": "refunds",
    "客服": "customer service",
    "零售商": "retailers",
    "供应商": "suppliers",
    "实体店": "physical stores",
    "线下门店": "physical stores",
    "盈利": "profit",
    "赚了多少钱": "profit",
    "营销费用": "marketing spend",
    "营销预算": "marketing budget",
    "营销花费": "marketing spend",
    "推广费": "ad spend",
    "广告支出": "ad spend",
    "广告花费": "ad spend",
    "获客成本": "acquisition cost",
    "投入产出比": "roas",
    "收入水平": "income level",
    "男性": "male",
    "女性": "female",
    "男女": "men and women",
    "人口统计": "demographics",
    "婚姻": "marital",
    "岁": "age",
    "快递": "courier",
    "送达": "delivered",
    "签收": "delivered",
    "差评": "reviews",
    "满意度": "satisfaction",
    "星级": "star rating",
    "反馈": "feedback",
    "口碑": "reviews",
    "补货": "inventory restock",
    "打开率": "open rate",
    "退订": "unsubscribe",
    "付款方式": "payment methods",
    "信用卡": "credit cards",
    "支付宝": "payment methods paypal",
    "微信支付": "payment methods",
    "货到付款": "cash on delivery",
    "打折": "discounted",
    "折扣": "discounted",
    "满减": "coupons",
    "代金券": "vouchers",
    "红包": "vouchers",
    "投诉": "complaints",
    "工单": "support tickets",
    "省份": "which provinces",
    "哪个省": "which provinces",
    "邮编": "zip codes",
    "收货地址": "shipping address",
    "地址": "home address",
    "电话": "phone numbers",
    "邮箱": "email addresses",
    "联系方式": "contact details",
    "作者": "authors",
    "流派": "genres",
    "专辑": "albums",
    "操作系统": "operating systems",
    "安卓": "android",
    "停留时间": "dwell time",
    "停留时长": "dwell time",
    "页面加载": "page load",
    "加载速度": "load times",
    "会员": "membership",
    "积分": "loyalty points",
    "订阅": "subscription",
    "税": "taxes",
    "税费": "taxes",
    "竞争对手": "competitor",
    "竞品": "competitor",
    "温度": "temperatures",
    "预测": "forecast predict",
    "下周": "next week",
    "下个月": "next month",
    "下月": "next month",
    "明年": "next year",
    "下季度": "next quarter",
    "将会": "will be",
    # the shape of a question
    "多少": "how many",
    "几个": "how many",
    "几次": "how many times",
    "几天": "how many days",
    "每人": "per person",
    "每次": "each time",
    "美元": "dollars",
    "包含": "containing",
    "大小": "size",
    "之间": "between",
    "之间隔": "gap between",
    "所有": "all",
    "全部": "all",
    "来自": "from",
    "同一": "the same",
    "分钟": "minutes",
    "重度": "heavy",
    "轻度": "light",
    "频繁": "often frequent",
    "任意": "any",
    "任何": "any",
    "只有": "only",
    "时长": "duration",
    "数量": "number count",
    "总": "total",
    "单个": "any one single",
    "日期": "dates",
    "日子": "days",
    "类型": "types",
    "大类": "departments top-level categories",
    "州": "states",
    "各州": "per state",
    "各国": "per country",
    "次数": "number of times",
    "哪个": "which",
    "哪些": "which",
    "统计": "count",
    "总共": "total",
    "一共": "in total",
    "总计": "total",
    "总数": "total number",
    "合计": "total",
    "平均": "average",
    "中位数": "median",
    "分布": "distribution",
    "最大": "maximum largest",
    "最小": "minimum smallest",
    "最多": "most",
    "最高": "highest top",
    "最少": "fewest least",
    "最低": "lowest",
    "排名": "top ranking",
    "排行": "top ranking",
    "占比": "share",
    "占多少": "what share of",
    "占了多少": "what share of",
    "占总": "share of total",
    "每位": "per each",
    "每名": "per each",
    "比例": "share",
    "多少比例": "what share of",
    "多大比例": "what share of",
    "什么比例": "what share of",
    "触达": "reached",
    "百分比": "percentage",
    "比率": "rate",
    "按": "by",
    "每个": "per each",
    "各": "per each",
    "各个": "per each",
    "分别": "each by",
    "不同": "distinct",
    "独立": "distinct unique",
    "去重": "distinct",
    "从未": "never",
    "从来没有": "never",
    "从不": "never",
    "没有": "never no",
    "未": "not",  # 未购买: one character, a word of its own in these questions
    "没": "not",
    "至少": "at least",
    "超过": "more than",
    "大于": "more than",
    "少于": "fewer than",
    "小于": "less than",
    "趋势": "trend",
    "变化": "change",
    "增长": "grew increase",
    "上升": "rose increase",
    "下降": "dropped decline",
    "下跌": "dropped decline",
    "为什么": "why",
    "原因": "why reason",
    "对比": "compared with",
    "比较": "compared with",
    "相比": "compared with",
    "比起": "compared with",
    "比怎么样": "compared with",
    "比如何": "compared with",
    "环比": "compared with the previous period",
    "同比": "compared with the same period last year",
    "异常": "unusual anomalies",
    "推荐": "recommend",
    "细分": "segment",
    "分群": "segment",
    "人群": "segment",
    "文案": "copy",
    "营销": "marketing",
    "促销": "promo",
    "高价值": "high value",
    "流失风险": "at risk",
}
_TERMS = re.compile("|".join(sorted(map(re.escape, GLOSSARY), key=len, reverse=True)))

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_NUMBER = r"(\d+|[零〇一二两三四五六七八九十百]+)"
# What a bound counts: times, things, orders, or money ("500美元及以上").
_UNIT = r"(?:次|个|件|笔|单|位|名|种|款|类|家|天|美元|元|块钱?|欧元|英镑|镑)?"


def chinese_number(text: str) -> int | None:
    """'30', '三十', '十二', '两', '一百' as an int (up to 999); None when it is not one."""
    if text.isdigit():
        return int(text)
    total, digit = 0, None
    for char in text:
        if char in _DIGITS:
            digit = _DIGITS[char]
        elif char in "十百":
            total += (1 if digit is None else digit) * (10 if char == "十" else 100)
            digit = None
        else:
            return None
    return total + (digit or 0)


def _number(match: re.Match[str]) -> str:
    value = chinese_number(match.group(1))
    return str(value) if value is not None else match.group(1)


# A time of day: "凌晨5点", "下午3点", "18点", "午夜0点"; the part of the day says am or pm.
_PART_OF_DAY = r"午夜|半夜|凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|深夜"
_CLOCK = rf"(?:{_PART_OF_DAY})?\s*(?:\d{{1,2}}|[零〇一二两三四五六七八九十]+)\s*点(?:钟)?"


def clock_hour(text: str) -> int | None:
    """The hour of the day a Chinese clock time names (下午3点 is 15, 凌晨5点 5, 晚上12点 0)."""
    match = re.fullmatch(rf"(?P<part>{_PART_OF_DAY})?\s*(?P<n>\S+?)\s*点(?:钟)?", text.strip())
    hour = chinese_number(match["n"]) if match else None
    if match is None or hour is None or hour > 24 or (match["part"] is None and not match["n"].isdigit()):
        return None  # 一点 alone is "a little"
    part = match["part"] or ""
    if part in ("下午", "傍晚", "晚上", "夜里", "深夜") and hour < 12:
        hour += 12
    elif part in ("午夜", "半夜", "凌晨", "早上", "早晨", "上午", "晚上", "深夜") and hour == 12:
        hour = 0
    return hour % 24


def _clock_said(word: str) -> Callable[[re.Match[str]], str]:
    """ "before 18:00" for 18点之前: the word and the clock time the match's group `a` names."""

    def said(match: re.Match[str]) -> str:
        hour = clock_hour(match["a"])
        return f"{word} {hour}:00" if hour is not None else ""

    return said


def _between_clocks(match: re.Match[str]) -> str:
    """ "晚上8点到12点": the second time takes the first's part of the day when it names none; one
    ending at midnight runs to the day's end."""
    part = re.match(_PART_OF_DAY, match["a"].strip())
    second = (
        match["b"] if re.match(_PART_OF_DAY, match["b"].strip()) or not part else part.group(0) + match["b"]
    )
    first, last = clock_hour(match["a"]), clock_hour(second)
    if first is None or last is None:
        return ""
    return f"after {first}:00" if last == 0 and first > 0 else f"between {first}:00 and {last}:00"


_WHO = {"客户": "customers", "顾客": "customers", "用户": "users", "买家": "buyers", "人": "people"}


def _ordered_times(match: re.Match[str]) -> str:
    """ "下过至少10单的客户" as English word order has it, "customers who ordered at least 10
    times", which the English rules for buyers by their number of orders read."""
    n = chinese_number(match["n"])
    if n is None:
        return ""
    if match["bound"] in ("超过", "多于", "大于"):
        times = f"more than {n} times"
    elif match["bound"] or match["more"]:
        times = f"at least {n} times"
    else:
        return ""  # "买过3次的客户": exactly, or at least? the model decides
    return f"{_WHO[match['who']]} who ordered {times}"


_ONE = {"客户": "customer", "顾客": "customer", "用户": "user", "买家": "buyer", "人": "person"}
_THINGS = {"商品": "products", "产品": "products", "SKU": "SKUs", "品类": "categories", "品牌": "brands"}
_EVENT = {
    "浏览": "view",
    "点击": "view",
    "加购": "cart",
    "收藏": "favorite",
    "购买": "purchase",
    "下单": "purchase",
}
# A whole a share is of ("占全部订单的百分之几").
_WHOLE = {
    "订单": "orders",
    "用户": "users",
    "客户": "customers",
    "会话": "sessions",
    "访问": "visits",
    "商品": "products",
    "销售额": "revenue",
    "营收": "revenue",
    "浏览": "views",
    "购买": "purchases",
}
_THINGS_OR_WHO = rf"(?P<what>{'|'.join(_THINGS)}|{'|'.join(_WHO)})"


_VERB_DONE = {
    "浏览过": "viewed",
    "看过": "viewed",
    "加购过": "carted",
    **dict.fromkeys(("买过", "买了", "购买过", "购买了", "购买"), "bought"),
}


def _done_by_only(match: re.Match[str]) -> str:
    n = _number(match)
    who = _ONE[match["who"]] if n == "1" else _WHO[match["who"]]
    verb = _VERB_DONE.get(match["verb"], "bought")
    return f"{verb} by only {'one' if n == '1' else n} {who}"


_LAST_UNITS = {
    "分钟": "minutes",
    "小时": "hours",
    "天": "days",
    "日": "days",
    "周": "weeks",
    "星期": "weeks",
    "月": "months",
    "营业日": "trading days",
    "交易日": "trading days",
}
_IN_UNITS = {"秒": "seconds", "分钟": "minutes", "小时": "hours", "天": "days"}


_ORDINALS = "first second third fourth fifth sixth seventh eighth ninth tenth".split()


def _ordinal(match: re.Match[str]) -> str:
    number = chinese_number(match.group(1))
    if number is None or not 1 <= number <= len(_ORDINALS):
        return ""
    order = " order" if match["noun"] in ("单", "笔订单", "个订单", "笔") else ""
    return _ORDINALS[number - 1] + order


def _month_name(text: str) -> str:
    number = chinese_number(text)
    return MONTH_NAMES[number - 1] if number and 1 <= number <= 12 else ""


def _month_range(match: re.Match[str]) -> str:
    first, last = _month_name(match["a"]), _month_name(match["b"])
    return f"{first} to {last}" if first and last else ""


def _last_stretch(match: re.Match[str]) -> str:
    unit = _LAST_UNITS[match["unit"]]
    number = _number(match)
    return f"last {number} {unit}" if number != "1" else f"last {unit[:-1]}"


# A bound written with a symbol; the two-character ones first, so ">=" is not read as ">".
_SYMBOL_BOUNDS = {
    **dict.fromkeys((">=", "≥", "＞="), "at least"),
    **dict.fromkeys(("<=", "≤", "＜="), "at most"),
    **dict.fromkeys((">", "＞"), "more than"),
    **dict.fromkeys(("<", "＜"), "fewer than"),
}


def _symbol_bound(match: re.Match[str]) -> str:
    """ "<=7天" as "at most 7 days", ">20" as "more than 20"."""
    return f"{_SYMBOL_BOUNDS[match['op']]} {match['n']}{' days' if match['d'] else ''}"


# (pattern, English): rolling periods, dates and ranks with their numbers, read before the terms.
_PHRASES: list[tuple[str, Callable[[re.Match[str]], str]]] = [
    # "英国以外" is "outside the United Kingdom", "非苹果" "non-apple": the English rules read
    # the negation before the name.
    (rf"(?P<x>{_TERMS.pattern})\s*(?:以外|之外)", lambda m: f"outside {GLOSSARY[m['x']]}"),
    (rf"非\s*(?P<x>{_TERMS.pattern})", lambda m: f"non-{GLOSSARY[m['x']]}"),
    (r"非\s*(?P<x>[A-Za-z][A-Za-z0-9&.'-]*)", lambda m: f"non-{m['x']}"),
    # "除英国外", "英国先不算": excluding a value, the name after the word as English has it
    (rf"除了?\s*(?P<x>{_TERMS.pattern})\s*(?:之外|以外|外)?", lambda m: f"excluding {GLOSSARY[m['x']]}"),
    (rf"(?P<x>{_TERMS.pattern})\s*先?不算", lambda m: f"excluding {GLOSSARY[m['x']]}"),
    # "零购买", "无加购": none of that event
    (r"(?:零|无)\s*(?P<e>购买|下单|加购|浏览|点击|收藏)", lambda m: f"no {_EVENT[m['e']]}s"),
    (
        r"(?:下过|下了|买过|买了|购买过|购买了|购买|下单)\s*(?P<bound>至少|最少|不少于|超过|多于|大于)?\s*"
        r"(?P<n>\d+|[零〇一二两三四五六七八九十百]+)\s*(?:次|单|笔|个订单|笔订单)(?P<more>以上|及以上|或以上|或更多)?"
        r"\s*的?\s*(?P<who>客户|顾客|用户|买家|人)",
        _ordered_times,
    ),
    (rf"(?:从|在)?\s*(?P<a>{_CLOCK})\s*(?:到|至|~|-|—)\s*(?P<b>{_CLOCK})(?:之间)?", _between_clocks),
    (rf"(?P<a>{_CLOCK})\s*(?:以前|之前|前)", _clock_said("before")),
    (rf"(?P<a>{_CLOCK})\s*(?:以后|之后|后|或更晚|及以后)", _clock_said("after")),
    (rf"(?P<a>{_CLOCK})", _clock_said("at")),
    # "数据最后5分钟", "最后两个营业日": the last stretch of the data
    (rf"最后\s*{_NUMBER}\s*个?\s*(?P<unit>{'|'.join(_LAST_UNITS)})", _last_stretch),
    (rf"(?:近|最近|过去|前)\s*{_NUMBER}\s*(?:天|日)", lambda m: f"last {_number(m)} days"),
    (rf"(?:近|最近|过去|前)\s*{_NUMBER}\s*(?:周|个星期|星期)", lambda m: f"last {_number(m)} weeks"),
    (rf"(?:近|最近|过去|前)\s*{_NUMBER}\s*个?月", lambda m: f"last {_number(m)} months"),
    (
        r"(?P<y>(?:19|20)\d\d)\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]",
        lambda m: f"on {int(m['d'])} {MONTH_NAMES[int(m['m']) - 1]} {m['y']}",
    ),
    (
        r"(?P<y>(?:19|20)\d\d)\s*年\s*(?P<m>\d{1,2})\s*月(?:份)?",
        lambda m: f"in {MONTH_NAMES[int(m['m']) - 1]} {m['y']}",
    ),
    (
        r"(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]",
        lambda m: f"on {MONTH_NAMES[int(m['m']) - 1]} {int(m['d'])}",
    ),
    (r"(?P<y>(?:19|20)\d\d)\s*年", lambda m: f"in {m['y']}"),
    # "97年2月": February 1997 (analysts shorten years)
    (
        r"(?<!\d)(?P<y>\d\d)\s*年\s*(?P<m>\d{1,2})\s*月(?:份)?",
        lambda m: (
            f"in {MONTH_NAMES[int(m['m']) - 1]} {19 if int(m['y']) >= 50 else 20}{m['y']}"
            if 1 <= int(m["m"]) <= 12
            else ""
        ),
    ),
    # "97年" is 1997, "18年" 2018: analysts shorten years
    (
        r"(?<!\d)(?P<y>\d\d)\s*年(?!级|龄|代|以|内|前|后|多|左右|来|间)",
        lambda m: f"in {19 if int(m['y']) >= 50 else 20}{m['y']}",
    ),
    (r"第\s*(?P<q>[一二三四1-4])\s*(?:个)?季度", lambda m: f"Q{chinese_number(m['q'])}"),
    # "10-12月", "10月到12月": a range of months, not the last month alone
    (
        r"(?P<a>\d{1,2})\s*月?\s*(?:-|~|—|到|至)\s*(?P<b>\d{1,2})\s*月份?",
        _month_range,
    ),
    (r"(?P<m>\d{1,2}|[一二三四五六七八九十]+)\s*月份?", lambda m: _month(m["m"])),
    (r"前\s*(?P<p>\d+(?:\.\d+)?)\s*[%％]", lambda m: f"top {m['p']}%"),
    (rf"前\s*{_NUMBER}\s*(?:名|个|位|大)?", lambda m: f"top {_number(m)}"),
    (
        r"哪\s*(\d+|[两三四五六七八九十][零〇一二两三四五六七八九十百]*)\s*(?:个|位|家|种|款|件|名|天|类)",
        lambda m: f"which top {_number(m)}",
    ),
    (rf"最\w{{1,4}}的\s*{_NUMBER}\s*(?:款|个|种|家|位|名|件|类)", lambda m: f"top {_number(m)}"),
    # "买过的不同商品达到100种及以上的客户": customers who bought 100 or more different products
    (
        rf"(?P<verb>买过|购买过|浏览过|看过)\s*的?\s*不同的?\s*(?P<what>{'|'.join(_THINGS)})\s*(?:达到|有|在)?\s*"
        rf"(?P<n>\d+|[零〇一二两三四五六七八九十百]+)\s*{_UNIT}\s*(?:及|或)?以上\s*的?\s*(?P<who>客户|顾客|用户|买家)"
        r"(?P<ask>\s*(?:有|是)\s*(?:几|多少)\s*(?:个|位|人|名)?)?",
        lambda m: (
            f"{'how many ' if m['ask'] else ''}{_WHO[m['who']]}{'' if m['ask'] else ' who'}"
            f" {_VERB_DONE[m['verb']]} {chinese_number(m['n'])} or more different {_THINGS[m['what']]}"
        ),
    ),
    (rf"{_NUMBER}\s*{_UNIT}\s*(?:及|或|和)?以上", lambda m: f"{_number(m)} or more"),
    (rf"{_NUMBER}\s*{_UNIT}\s*(?:及|或|和)?以下", lambda m: f"{_number(m)} or less"),
    # "第三单", "第二次会话": an ordinal ("third order", "second" before the noun's own gloss)
    (rf"第\s*{_NUMBER}\s*(?P<noun>单|笔订单|个订单|笔|次|个)", _ordinal),
    (
        rf"(?:至少|最少|不少于|不低于)\s*(?:出现在|出现|在|有|买过|买了|下过|下了|被)?\s*{_NUMBER}",
        lambda m: f"at least {_number(m)}",
    ),
    (rf"(?:不超过|不多于|不高于|至多|最多)\s*{_NUMBER}", lambda m: f"at most {_number(m)}"),
    (rf"(?:超过|多于|大于|高于)\s*{_NUMBER}", lambda m: f"more than {_number(m)}"),
    (rf"(?:少于|不到|小于|低于)\s*{_NUMBER}", lambda m: f"fewer than {_number(m)}"),
    # "占全部订单的百分之几": what percent of all orders (the whole after the words, as in English)
    (
        rf"占(?:了)?\s*(?:全部|所有|总)?\s*(?P<whole>{'|'.join(_WHOLE)})(?:数|量)?\s*的?\s*百分之(?:多少|几)",
        lambda m: f"what percent of all {_WHOLE[m['whole']]}",
    ),
    (r"百分之(?:多少|几)", lambda m: "what percent of"),
    # "最后有成交的那些会话": sessions that bought (the English order: the noun, then what it did)
    (
        r"(?:有|产生了?|发生了?)\s*(?:成交|购买|下单)\s*的\s*(?:那些|这些)?\s*(?P<who>会话|访问|用户|客户|买家|顾客)",
        lambda m: f"{_WHO.get(m['who']) or _WHOLE[m['who']]} that bought",  # 顾客 are customers
    ),
    # "上一单之后7天": days after the previous order
    (
        rf"上一?(?:单|笔订单|个订单|次购买|次下单)\s*(?:之后|以后|后)\s*{_NUMBER}\s*天(?!\s*(?:及|或)?以?内)",
        lambda m: f"{_number(m)} days after the previous order",
    ),
    # "每张发票上有多少种不同的SKU": distinct products per order
    (
        r"每\s*(?:张|个|笔)?\s*(?P<order>发票|订单|单)\s*上?\s*(?:有|包含|含)?\s*(?:多少|几)\s*(?:种|个|款)?\s*"
        rf"不同的?\s*(?P<what>{'|'.join(_THINGS)})",
        lambda m: (
            f"number of distinct {_THINGS[m['what']]} per {'invoice' if m['order'] == '发票' else 'order'}"
        ),
    ),
    # "占了全部浏览量的多少": what share of the whole
    (r"占了?(?=[^，。？！；,.?!;百]{1,12}?的?(?:多少|几成))", lambda m: "make up what share of"),
    # "按分钟算": the unit an answer is wanted in
    (r"按\s*(?P<unit>秒|分钟|小时|天)\s*(?:算|计算|计)", lambda m: f"in {_IN_UNITS[m['unit']]}"),
    # "刚好两单", "恰好10单": exactly that many orders
    (
        rf"(?:刚好|恰好|正好)\s*(?:停在了?|停在|下了|是)?\s*{_NUMBER}\s*(?:单|个订单|笔订单)",
        lambda m: f"exactly {_number(m)} orders",
    ),
    # "单个客户最多买过多少种不同的商品": the most distinct products of any one customer
    (
        r"(?:单个|一个|任何一个|任一|某个)\s*(?P<who>客户|顾客|用户|买家)\s*最多\s*(?P<verb>买过|买了|购买过|购买了|浏览过|看过)?"
        rf"\s*(?:多少|几)?\s*(?:种|个|款|件)?\s*不同的?\s*(?P<what>{'|'.join(_THINGS)})",
        lambda m: (
            f"most distinct {_THINGS[m['what']]} any one {_ONE[m['who']]} {_VERB_DONE.get(m['verb'] or '', '')}".strip()
        ),
    ),
    # "只被一个客户买过": bought by only one customer (English order: the rules read "SKUs bought by")
    (
        rf"只被\s*{_NUMBER}\s*(?:个|位|名)?\s*(?P<who>客户|顾客|用户|买家|人)\s*"
        r"(?P<verb>买过|买了|购买过|购买|浏览过|看过|加购过)",
        _done_by_only,
    ),
    # "多少次浏览才能换来一次购买": how many views it takes to get one purchase
    (
        r"多少次\s*(?P<a>浏览|点击|加购|收藏)\s*才(?:能)?\s*(?:换来|带来|换到|产生|促成|有|出)\s*(?:一次|一单|1次|1单)\s*"
        r"(?P<b>购买|下单|成交|加购)",
        lambda m: f"how many {_EVENT[m['a']]}s does it take to get one {_EVENT.get(m['b'], 'purchase')}",
    ),
    # "浏览-购买转化率": the view-to-purchase rate
    (
        r"(?P<a>浏览|点击|加购|收藏)\s*(?:-|到|→|—|~)\s*(?P<b>购买|下单|加购)\s*的?\s*(?:转化率|转化|比率|比例)",
        lambda m: f"{_EVENT[m['a']]}-to-{_EVENT[m['b']]} rate",
    ),
    # "不同商品数": the number of distinct products (a count, not the products)
    (
        rf"不同的?\s*{_THINGS_OR_WHO}\s*(?:数量|个数|数)",
        lambda m: f"number of distinct {_THINGS.get(m['what']) or _WHO[m['what']]}",
    ),
    # "触达用户最多的3个品类": ranked by the most users
    (
        r"(?P<who>用户|客户|顾客|买家)(?=最多(?:的|[，。？！,.?!]|$))",
        lambda m: f"the most {_WHO[m['who']]}",
    ),
    (
        rf"不同的?\s*(?P<what>{'|'.join(_THINGS)})(?=最多(?:的|[，。？！,.?!]|$))",
        lambda m: f"the most distinct {_THINGS[m['what']]}",
    ),
    (r"(?:不止|不只|多于|超过)\s*(?:一次|1次)", lambda m: "more than once"),
    (r"(?:不止|不只|多于|超过)\s*(?:一个|1个|一件|一种)", lambda m: "more than one"),
    (r"至少\s*(?:一次|1次)", lambda m: "at least once"),
    (r"(?:都有|全都|全部都)", lambda m: "all of them"),
    # Bounds written with symbols ("3+个", "事件>20", "<=7天"), a day count, a percentage
    (r"(?P<n>\d+)\s*\+", lambda m: f"{m['n']} or more"),
    (
        rf"(?P<op>{'|'.join(map(re.escape, _SYMBOL_BOUNDS))})\s*(?P<n>\d+(?:\.\d+)?)(?P<d>\s*天)?",
        _symbol_bound,
    ),
    (rf"{_NUMBER}\s*(?:天|日)\s*(?:以内|之内|内)", lambda m: f"within {_number(m)} days"),
    # "3天" (not "最新的一天", the latest day)
    (rf"{_NUMBER}\s*天(?!气)", lambda m: "" if m.group(1) == "一" else f"{_number(m)} days"),
    (r"(?P<p>\d+(?:\.\d+)?)\s*[%％]", lambda m: f"{m['p']}%"),
]


def _month(text: str) -> str:
    name = _month_name(text)
    return f"in {name}" if name else ""


def is_chinese(text: str) -> bool:
    return CJK.search(text) is not None


# Glossary words that name what a value is of, not a value ("圣诞商品" is christmas, not products).
_NOT_VALUES = {
    "products",
    "items",
    "goods",
    "users",
    "customers",
    "buyers",
    "orders",
    "category",
    "categories",
}


def english_words(value: str) -> list[str]:
    """A Chinese value's English words as the glossary has them ("智能手机" → smartphone, phone),
    for a filter value the model copied from the question in Chinese; [] for any other value."""
    if not is_chinese(value):
        return []
    words = [w for match in _TERMS.finditer(value) for w in GLOSSARY[match.group(0)].split()]
    return [w for w in dict.fromkeys(words) if w not in _NOT_VALUES]


def written_in_chinese(text: str) -> bool:
    """Whether a reply is Chinese, not English quoting a Chinese word ("I could not answer that:
    no product contains '耳机'"): it opens in Chinese, or has as many Chinese characters as
    English words."""
    first = next((c for c in text if c.isalpha()), "")
    return bool(CJK.match(first)) or len(CJK.findall(text)) >= max(1, len(re.findall(r"[A-Za-z]+", text)))


# Words whose last character sounds like the first of a term (够 of 购买): a run starting there is
# the word's end, not a slip.
WORDS_ENDING_IN_A_SLIP = ("能够", "不够", "足够")
# Words spelled right that sound like a term: 那些 ("those") is not a slip for 哪些 ("which").
NOT_SLIPS = frozenset({"那些", "那个", "那种", "那天", "那里", "那次", "那位", "那家", "那款"})


@functools.cache
def _terms_by_sound() -> dict[tuple[str, ...], list[str]]:
    """The glossary's Chinese terms of two characters or more, by their sound (toneless pinyin)."""
    by_sound: dict[tuple[str, ...], list[str]] = {}
    for term in GLOSSARY:
        if len(term) >= 2 and all(CJK.match(c) for c in term):
            by_sound.setdefault(tuple(lazy_pinyin(term)), []).append(term)
    return by_sound


@functools.lru_cache(maxsize=256)
def pinyin_slips_fixed(question: str) -> tuple[str, list[str]]:
    """The question with each pinyin-input slip in a term the glossary knows written right, and a
    note for each. A slip is what a pinyin keyboard makes: a run that sounds exactly like the term
    and differs from it in one character (够买 for 购买, 转话率 for 转化率); a run sharing no
    character with it is another word (视频 is not 食品), and terms spelled right are left alone."""
    if not is_chinese(question):
        return question, []
    chars = list(question)
    taken = [False] * len(chars)
    for match in _TERMS.finditer(question):
        if len(match.group(0)) > 1:  # 买 alone may be the slip's half (够买)
            taken[match.start() : match.end()] = [True] * (match.end() - match.start())
    notes: list[str] = []
    by_sound = _terms_by_sound()
    for size in sorted({len(sound) for sound in by_sound}, reverse=True):
        for start in range(len(chars) - size + 1):
            run = "".join(chars[start : start + size])
            if any(taken[start : start + size]) or not all(CJK.match(c) for c in run):
                continue
            if run in NOT_SLIPS or "".join(chars[max(start - 1, 0) : start + 1]) in WORDS_ENDING_IN_A_SLIP:
                continue  # 不够买 is "not enough to buy", not 不购买
            terms = by_sound.get(tuple(lazy_pinyin(run)), [])
            if len(terms) != 1 or sum(a != b for a, b in zip(run, terms[0], strict=True)) != 1:
                continue
            chars[start : start + size] = terms[0]
            taken[start : start + size] = [True] * size
            notes.append(f"read '{run}' as '{terms[0]}'")
    return "".join(chars), notes


_ASCII_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[ '’&.-]+[A-Za-z0-9]+)*")


def glossed_terms(question: str) -> tuple[tuple[str, str], ...]:
    """The terms of a Chinese question the glossary knows, each with its English, in the
    question's order ("上周电子产品的转化率" → (("上周", "last week"), ("电子产品", "electronics"),
    ("转化率", "conversion rate"))); read after pinyin slips are fixed. Not cached itself: its
    one caller, `english_reading`, is."""
    question, _ = pinyin_slips_fixed(question)
    found: list[tuple[int, str, str]] = []
    taken = [False] * len(question)
    for pattern, english in _PHRASES:
        for match in re.finditer(pattern, question):
            if any(taken[match.start() : match.end()]):
                continue
            text = english(match)
            if text:
                found.append((match.start(), match.group(0), text))
                taken[match.start() : match.end()] = [True] * (match.end() - match.start())
    # English words inside the Chinese ("samsung的", "Q4", "Top 10的SKU") as words of their own:
    # the English rules' word boundaries do not fall between a letter and a Chinese character.
    for match in _ASCII_WORDS.finditer(question):
        if not any(taken[match.start() : match.end()]):
            # "samsung的" is "samsung's": a brand that is also a word is named as a brand so
            possessive = match.group(0).isalpha() and question[match.end() : match.end() + 1] == "的"
            found.append((match.start(), match.group(0), match.group(0) + ("'s" if possessive else "")))
            taken[match.start() : match.end()] = [True] * (match.end() - match.start())
    for match in _TERMS.finditer(question):
        if not any(taken[match.start() : match.end()]):
            found.append((match.start(), match.group(0), GLOSSARY[match.group(0)]))
    return tuple((chinese, english) for _, chinese, english in sorted(found))


@functools.lru_cache(maxsize=256)
def english_reading(question: str) -> str:
    """The question as code's rules read it: unchanged when it has no Chinese; else followed by
    the English of its terms, in their order ("上周电子产品的转化率" → "… (last week electronics
    conversion rate)")."""
    if not is_chinese(question):
        return question
    found = glossed_terms(question)
    if not found:
        return question
    return f"{question} ({' '.join(english for _, english in found)})"
