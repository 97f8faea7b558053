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
    "哪一天": "which day",
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
    "下了单": "ordered",
    "订单数": "number of orders",
    "订单": "orders",
    "搜索词": "search terms",
    "搜索": "searches",
    "退货": "returns",
    # metrics
    "转化率": "conversion rate",
    "客单价": "average order value",
    "复购率": "repeat purchase rate",
    "回购率": "repeat purchase rate",
    "复购": "repeat purchase",
    "销售额": "revenue",
    "营业额": "revenue",
    "成交额": "revenue",
    "收入": "revenue",
    "营收": "revenue",
    "销量": "units sold",
    "件数": "units",
    "平均价格": "average price",
    "均价": "average price",
    "单价": "unit price",
    "人均": "per user",
    "活跃用户": "active users",
    "活跃天数": "active days",
    "新用户": "new users",
    "新客": "new customers",
    "老客": "returning customers",
    "首单": "first orders",
    "最近一单": "latest order",
    "最后一单": "latest order",
    "上一单": "previous order",
    "第一单": "first order",
    "第二单": "second order",
    "复购单": "repeat orders",
    "相邻两单": "consecutive orders",
    "相邻订单": "consecutive orders",
    "间隔": "gap between",
    "隔多少天": "how many days between",
    "最久": "longest",
    "最长": "longest",
    "流失": "churn",
    # dimensions and things counted
    "品牌": "brands",
    "类目": "categories",
    "品类": "categories",
    "分类": "categories",
    "类别": "categories",
    "子类目": "subcategory",
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
    # the shape of a question
    "多少": "how many",
    "几个": "how many",
    "几次": "how many times",
    "数量": "number count",
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
    "比例": "share",
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
_UNIT = r"(?:次|个|件|笔|单|位|天|美元|元|块钱?|欧元|英镑|镑)?"


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


# (pattern, English): rolling periods, dates and ranks with their numbers, read before the terms.
_PHRASES: list[tuple[str, Callable[[re.Match[str]], str]]] = [
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
    (r"(?P<m>\d{1,2}|[一二三四五六七八九十]+)\s*月份?", lambda m: _month(m["m"])),
    (rf"前\s*{_NUMBER}\s*(?:名|个|位|大)?", lambda m: f"top {_number(m)}"),
    (rf"{_NUMBER}\s*{_UNIT}\s*(?:及|或|和)?以上", lambda m: f"{_number(m)} or more"),
    (rf"{_NUMBER}\s*{_UNIT}\s*(?:及|或|和)?以下", lambda m: f"{_number(m)} or less"),
    (rf"(?:至少|最少|不少于|不低于)\s*{_NUMBER}", lambda m: f"at least {_number(m)}"),
    (rf"(?:不超过|不多于|不高于|至多|最多)\s*{_NUMBER}", lambda m: f"at most {_number(m)}"),
    (rf"(?:超过|多于|大于|高于)\s*{_NUMBER}", lambda m: f"more than {_number(m)}"),
    (rf"(?:少于|不到|小于|低于)\s*{_NUMBER}", lambda m: f"fewer than {_number(m)}"),
    (r"百分之(?:多少|几)", lambda m: "what percent of"),
    (r"(?:不止|不只|多于|超过)\s*(?:一次|1次)", lambda m: "more than once"),
    (r"(?:不止|不只|多于|超过)\s*(?:一个|1个|一件|一种)", lambda m: "more than one"),
    (r"至少\s*(?:一次|1次)", lambda m: "at least once"),
    (r"(?:都有|全都|全部都)", lambda m: "all of them"),
]


def _month(text: str) -> str:
    number = chinese_number(text)
    return f"in {MONTH_NAMES[number - 1]}" if number and 1 <= number <= 12 else ""


def is_chinese(text: str) -> bool:
    return CJK.search(text) is not None


# Words whose last character sounds like the first of a term (够 of 购买): a run starting there is
# the word's end, not a slip.
WORDS_ENDING_IN_A_SLIP = ("能够", "不够", "足够")


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
            if "".join(chars[max(start - 1, 0) : start + 1]) in WORDS_ENDING_IN_A_SLIP:
                continue  # 不够买 is "not enough to buy", not 不购买
            terms = by_sound.get(tuple(lazy_pinyin(run)), [])
            if len(terms) != 1 or sum(a != b for a, b in zip(run, terms[0], strict=True)) != 1:
                continue
            chars[start : start + size] = terms[0]
            taken[start : start + size] = [True] * size
            notes.append(f"read '{run}' as '{terms[0]}'")
    return "".join(chars), notes


@functools.lru_cache(maxsize=256)
def english_reading(question: str) -> str:
    """The question as code's rules read it: unchanged when it has no Chinese; else followed by
    the English of its terms, in their order ("上周电子产品的转化率" → "… (last week electronics
    conversion rate)")."""
    if not is_chinese(question):
        return question
    asked, (question, _) = question, pinyin_slips_fixed(question)
    found: list[tuple[int, str]] = []
    taken = [False] * len(question)
    for pattern, english in _PHRASES:
        for match in re.finditer(pattern, question):
            if any(taken[match.start() : match.end()]):
                continue
            text = english(match)
            if text:
                found.append((match.start(), text))
                taken[match.start() : match.end()] = [True] * (match.end() - match.start())
    for match in _TERMS.finditer(question):
        if not any(taken[match.start() : match.end()]):
            found.append((match.start(), GLOSSARY[match.group(0)]))
    if not found:
        return asked
    return f"{asked} ({' '.join(text for _, text in sorted(found))})"
