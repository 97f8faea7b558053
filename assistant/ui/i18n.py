"""The app's own words in English and Chinese. Gradio shows them in the browser's language
(gr.I18n: zh-CN and zh-TW read the Chinese, anything else the English); its own widgets
("Submit", "Clear", upload hints) come translated with it. What the chat writes about a question
(its steps, the answer's "Computed:" line and details) follows the question's language
(`said`), as the answer does (tools/chinese.py); what the app writes at run time outside the chat
(the status line, the model's state, the Data tab's summary, alerts) follows the browser's
language, read once per session from its Accept-Language (`browser_chinese`)."""

from __future__ import annotations

import gradio as gr

TEXTS: dict[str, tuple[str, str]] = {
    # key: (English, Chinese)
    "title": ("## ShopLens — ask your shop's data", "## ShopLens — 问问你的店铺数据"),
    "tab_chat": ("Chat", "对话"),
    "tab_data": ("Data", "数据"),
    "tab_segments": ("Segments", "用户分群"),
    "tab_recommendations": ("Recommendations", "推荐"),
    "tab_copy": ("Marketing copy", "营销文案"),
    "tab_eval": ("Eval", "评测"),
    "tab_alerts": ("Alerts", "告警"),
    "alerts_help": (
        "Raised by the live watcher while `shoplens collect serve` (or `launch.py --collect`) runs: an outage"
        " (half an hour without events when the same time last week was busy) or a conversion drop (the last"
        " 3 hours against the same hours of the week before).",
        "实时采集运行时（`shoplens collect serve` 或 `launch.py --collect`）由监控产生：中断（上周同一时段繁忙、"
        "此时半小时内没有任何事件）或转化率下降（最近三小时对比前一周同一时段）。",
    ),
    "refresh": ("Refresh", "刷新"),
    "conversation": ("Conversation", "对话记录"),
    "question_placeholder": (
        "Ask about your data, e.g. why did conversion drop last week?",
        "问问你的数据，例如：上周转化率为什么下降？",
    ),
    "ask": ("Ask", "提问"),
    "try": ("Try", "试试"),
    "new_conversation": ("New conversation", "新对话"),
    "result": ("### Result", "### 结果"),
    "answer": ("Answer", "回答"),
    "download_csv": ("Download CSV", "下载 CSV"),
    "sql_or_call": ("SQL / tool call", "SQL / 工具调用"),
    "dataset_in_use": ("Dataset the chat and tabs use", "对话和各页使用的数据集"),
    "tables": ("Tables", "数据表"),
    "load_a_file": ("### Load a file", "### 导入文件"),
    "upload": ("Upload a file", "上传文件"),
    "path_on_machine": ("…or a file or folder on this machine", "……或本机上的文件或文件夹"),
    "format": ("Format", "格式"),
    "into_dataset": ("Into dataset (new or existing)", "导入到数据集（新建或已有）"),
    "from_file_name": ("from the file name", "默认取文件名"),
    "load": ("Load", "导入"),
    "rejected_rows": ("Rejected rows by reason", "被拒绝的行（按原因）"),
    "segmentation": ("Segmentation", "分群方式"),
    "show_segments": ("Show segments", "查看分群"),
    "members_of": ("Members of", "分群成员"),
    "user_id": ("User id", "用户 ID"),
    "a_good_customer": ("A good customer", "选一位优质客户"),
    "how_many": ("How many", "数量"),
    "recommend": ("Recommend", "推荐"),
    "recommender": ("Recommender", "推荐方式"),
    "who_will_buy": ("Who will buy, who will stay away", "谁会购买，谁会流失"),
    "will_buy": ("Will buy", "会购买"),
    "will_stay_away": ("Will stay away", "会流失"),
    "will_buy_this_visit": ("Will buy in this visit (on the site now)", "本次访问会购买（当前在线）"),
    "outcome": ("Outcome", "预测"),
    "in_the_next_days": ("In the next … days", "未来天数"),
    "at_least_likely": ("Only users at least this likely", "仅显示概率不低于"),
    "predict": ("Predict", "预测"),
    "demand_gaps": ("What shoppers search for and do not find", "搜了却没找到的商品"),
    "find_demand_gaps": ("Find demand gaps", "查找需求缺口"),
    "items_used_together": ("Items used together", "常被一起浏览/购买的商品"),
    "what_comes_next": ("What comes next (sequence model)", "下一步会看什么（序列模型）"),
    "evidence": ("Evidence", "依据"),
    "write_for": ("Write for", "写给"),
    "product_id": ("Product id", "商品 ID"),
    "segment": ("Segment", "分群"),
    "brief": (
        "Campaign brief (optional): your offer, shop name, words to avoid",
        "活动简报（可选）：优惠、店铺名称、避免使用的词",
    ),
    "offer": ("Offer", "优惠"),
    "discount_code": ("Discount code", "优惠码"),
    "offer_ends": ("Offer ends (YYYY-MM-DD)", "优惠截止日期（YYYY-MM-DD）"),
    "call_to_action": ("Call to action", "行动号召"),
    "shop_name": ("Shop name", "店铺名称"),
    "words_to_avoid": ("Words to avoid (comma-separated)", "避免使用的词（用逗号分隔）"),
    "write_copy": ("Write copy", "生成文案"),
    "facts_used": ("Facts it used", "所用事实"),
    "tone": ("Tone", "语气"),
    "length": ("Length", "长度"),
    "channel": ("Channel", "渠道"),
    "versions": ("Versions to choose from", "生成几个版本"),
    "suite": ("Suite", "评测集"),
    "only_tagged": ("Only cases tagged (empty: all)", "只跑带此标签的用例（留空：全部）"),
    "first_n": ("First N cases (empty: all)", "前 N 个用例（留空：全部）"),
    "systems": ("Systems", "参评系统"),
    "judge": ("LLM judge for free text", "用 LLM 评判自由文本"),
    "repeats": ("Ask each case N times (stability)", "每个用例问 N 次（稳定性）"),
    "run": ("Run", "运行"),
    "scores": ("Scores", "得分"),
    "failing_cases": ("Failing cases", "未通过的用例"),
    "download_report": ("Download the HTML report", "下载 HTML 报告"),
}

I18N = gr.I18n(
    en={key: english for key, (english, _) in TEXTS.items()},
    zh={key: chinese for key, (_, chinese) in TEXTS.items()},
)


def t(key: str) -> gr.I18nData:
    """A label shown in the browser's language (KeyError for a key the table lacks)."""
    if key not in TEXTS:
        raise KeyError(f"no text {key!r} in assistant/ui/i18n.py")
    return I18N(key)


# Words code writes at run time, key: (English, Chinese): the chat's about one question in the
# question's language, the rest in the session's.
RUN_TIME_WORDS: dict[str, tuple[str, str]] = {
    "reading": ("Reading the question", "正在理解问题"),
    "reading_body": ("finding the closest solved questions", "查找最相近的已解决问题"),
    "waiting": ("Waiting for the model", "等待模型"),
    "waiting_body": (
        "it is reading the {dataset} data description: {seconds} s so far",
        "模型正在读取 {dataset} 数据说明：已用 {seconds} 秒",
    ),
    "call": ("Calling {tool}", "调用 {tool}"),
    "failed": ("{tool} failed; correcting the call", "{tool} 出错，正在修正调用"),
    "writing": ("Writing the answer", "正在撰写回答"),
    "computed": ("Computed: ", "计算内容："),
    "read_as": ("Read as: ", "按英文理解为："),
    "ungrounded": ("Numbers not found in the results: ", "结果中找不到的数字："),
    "left_out": ("Asked for but not in what was computed: ", "问题问到但计算中未包含："),
    "rows": ("{n} rows · SQL and table", "{n} 行 · SQL 和表格"),
    "one_row": ("1 row · SQL and table", "1 行 · SQL 和表格"),
    "more_rows": ("… all rows in the Result panel ({n})", "……全部行见结果面板（{n}）"),
    "error": ("Error: ", "出错："),
    "status_model": (
        "**Model** {model} · {engine} on {device}",
        "**模型** {model} · {engine}，运行于 {device}",
    ),
    "status_dataset": (
        "**Dataset** {dataset}: {events} events, {span} · {engine}, {access}",
        "**数据集** {dataset}：{events} 个事件，{span} · {engine}，{access}",
    ),
    "status_unavailable": (
        "**Dataset** {dataset}: unavailable ({error})",
        "**数据集** {dataset}：无法读取（{error}）",
    ),
    "status_last": (
        "**Last answer** {seconds} s · {rate} tokens/s",
        "**上一个回答** {seconds} 秒 · 每秒 {rate} 个词元",
    ),
    "no_events": ("no events", "没有事件"),
    "engine_ready": ("**Model** ready", "**模型**已就绪"),
    "engine_reading": (
        "**Model** reading the *{dataset}* data description: {seconds} s so far (a question asked now waits for it)",
        "**模型**正在读取 *{dataset}* 数据说明：已用 {seconds} 秒（现在提问会等它读完）",
    ),
    "engine_unread": (
        "**Model** ready (the first question reads the data description)",
        "**模型**已就绪（第一个问题会先读取数据说明）",
    ),
    "engine_loaded": (
        "**Model** ready: loaded its saved read of the *{dataset}* data description in {seconds} s",
        "**模型**已就绪：用 {seconds} 秒载入了已保存的 *{dataset}* 数据说明读取结果",
    ),
    "engine_read": (
        "**Model** ready: read the *{dataset}* data description in {seconds} s",
        "**模型**已就绪：用 {seconds} 秒读完了 *{dataset}* 数据说明",
    ),
    "summary": (
        "**{dataset}** · {users} users · {sessions} sessions · {span}",
        "**{dataset}** · {users} 位用户 · {sessions} 个会话 · {span}",
    ),
    "summary_load": (
        "- {source} ({format}): {loaded} rows loaded, {rejected} rejected, {at}",
        "- {source}（{format}）：导入 {loaded} 行，拒绝 {rejected} 行，{at}",
    ),
    "summary_loads": ("Loads:", "导入记录："),
    "summary_no_loads": (
        "No file loads recorded (a generated demo shop).",
        "没有文件导入记录（生成的演示店铺）。",
    ),
    "switched": (
        "Now answering from the dataset **{dataset}** (a new conversation).",
        "现在使用数据集 **{dataset}** 回答（新对话）。",
    ),
    "no_alerts": ("No alerts on this dataset.", "此数据集没有告警。"),
    "alerts_count": ("{n} alert{s}, newest first.", "共 {n} 条告警，最新的在前。"),
    "alerts_more": (" (+{n} more in the Alerts tab)", "（告警页另有 {n} 条）"),
    "outage": ("outage", "中断"),
    "conversion_drop": ("conversion drop", "转化率下降"),
    # the dataset's access, as Warehouse.access says it
    "read-only": ("read-only", "只读"),
    "read-write": ("read-write", "可读写"),
    "read-only by ShopLens's SQL check (Spark has no read-only session)": (
        "read-only by ShopLens's SQL check (Spark has no read-only session)",
        "只读（由 ShopLens 的 SQL 检查保证；Spark 没有只读会话）",
    ),
    "alerts_columns": ("alert|from|to|observed|usual|what happened", "告警|开始|结束|实际|通常|发生了什么"),
}


def said(key: str, chinese: bool, **values: object) -> str:
    """Words of RUN_TIME_WORDS in English, or in Chinese (for a question asked in Chinese, or a
    browser set to Chinese)."""
    english, zh = RUN_TIME_WORDS[key]
    return (zh if chinese else english).format(**values)


def browser_chinese(request: gr.Request | None) -> bool:
    """Whether the browser asks for Chinese first (Accept-Language, as the labels follow its
    language): zh, zh-CN, zh-TW …"""
    if request is None:
        return False
    accepted = request.headers.get("accept-language", "") or ""
    return accepted.split(",")[0].strip().lower().startswith("zh")
