"""The command line in Chinese: help, tables, messages and calculator errors; English unchanged."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.config import get_settings
from tests.consoles import wide_consoles

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_and_english_after() -> Iterator[None]:
    """Wide consoles (rich folds less), and the process back in English afterwards."""
    with wide_consoles(200):
        yield


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})
    return result.exit_code, result.output


def latin_words(text: str) -> set[str]:
    """Latin words outside quotes, option names and field names ("  - hypotension: ...")."""
    text = re.sub(r"(?m)^\s+- [\w.]+:", " ", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"|--?[a-z][\w-]*|\b\w+_\w+\b", " ", text)
    return set(re.findall(r"\b[A-Za-z]{3,}\b", text))


def test_the_help_is_chinese() -> None:
    code, output = run("--lang", "zh_CN", "--help")
    assert code == 0, output
    assert "神经系统自身免疫性疾病" in output
    assert "按已发表的临床标准分级" in output  # calc's docstring
    assert "显示本帮助并退出" in output  # click's own --help


def test_a_command_help_is_chinese() -> None:
    code, output = run("--lang", "zh_CN", "protocol", "show", "--help")
    assert code == 0, output
    assert "列出内置方案，或打印某个方案的阶段和任务" in output
    assert "某个内置方案；不填则列出全部" in output


def test_the_calculator_list_is_chinese() -> None:
    code, output = run("--lang", "zh_CN", "calc", "--list")
    assert code == 0, output
    for heading in ("neurocart计算器", "名称", "标题", "来源"):
        assert heading in output
    assert "年化复发率（单个患者）" in output


def test_a_calculator_input_error_is_chinese_with_no_english_left() -> None:
    bad = json.dumps({"temperature_c": 50, "hypotension": "maybe", "extra": 1})
    code, output = run("--lang", "zh_CN", "calc", "crs", "--json", bad)
    assert code == 2
    assert "错误" in output
    assert "计算器 'crs' 的输入无效" in output
    assert "应为 30–45 °C（得到 50）" in output
    assert "未知字段" in output
    assert latin_words(output) == set(), output


def test_the_site_default_language_applies_without_lang(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROCART_DEFAULT_LOCALE", "zh_CN")
    get_settings.cache_clear()
    try:
        code, output = run("protocol", "show")
    finally:
        get_settings.cache_clear()
    assert code == 0, output
    assert "内置方案" in output
    for heading in ("编号", "版本", "阶段数", "任务数"):
        assert heading in output


def test_english_is_unchanged() -> None:
    code, output = run("calc", "--list")
    assert code == 0, output
    assert "neurocart calculators" in output
    bad = json.dumps({"temperature_c": 50})
    code, output = run("calc", "crs", "--json", bad)
    assert "invalid input for calculator 'crs'" in output
    assert "temperature_c: must be 30–45 °C (got 50)" in output
    code, output = run("--help")
    assert "Grade with a published clinical standard" in output
    assert "Show this message and exit." in output


@pytest.mark.parametrize(
    ("name", "described"),
    [
        ("icaht", "中性粒细胞绝对计数"),
        ("cidp_ncs_ean_pns_2021", "远端运动潜伏期"),
        ("iec_hs", "临床医生判断：铁蛋白快速上升"),
        ("titre_change", "基线终点滴度的倒数（0 = 阴性）"),
    ],
)
def test_the_fields_of_a_calculator_without_a_form_are_described_in_chinese(
    name: str, described: str
) -> None:
    """The field descriptions of the input schema (`calc NAME --help`), not only the forms'."""
    from neurocart.standards import REGISTRY
    from neurocart.standards.fields import walk_fields

    code, output = run("--lang", "zh_CN", "calc", name, "--help")
    assert code == 0, output
    assert described in output
    english = [f.description for f in walk_fields(REGISTRY[name].fields) if f.description]
    assert [
        text for text in english if re.search(r"[a-z]{4} [a-z]{4}", text) and text in output
    ] == []


def test_the_commands_refusals_are_chinese(tmp_path: Path) -> None:
    """Refusals that commands repeat from the core (an audit key id, an export's or an
    import's input file, an unknown calculator, a database URL) follow --lang."""
    missing = tmp_path / "missing.toml"
    cases = [
        (("audit", "new-key", "--keyring", str(tmp_path / "ring"), "--id", "bad id!"),
         "密钥编号 'bad id!'：请使用 1–32 个 [A-Za-z0-9_.-] 字符"),
        (("export", "sdtm", "--out", str(tmp_path / "sdtm"), "--meddra", str(missing)),
         f"--meddra：无法读取 {missing}："),
        (("import", "redcap", "--dictionary", "d.csv", "--records", "r.csv",
          "--mapping", str(missing), "--user", "u"),
         f"--mapping：无法读取 {missing}："),
        (("calc", "no_such_calculator"), "未知计算器 'no_such_calculator'；已知："),
        (("report", "--out", str(tmp_path / "report"), "--database-url", "mysql://x/y"),
         "不支持的数据库 URL 协议 'mysql'：请使用 sqlite:///path 或 postgresql+psycopg://..."),
    ]  # fmt: skip
    for args, chinese in cases:
        code, output = run("--lang", "zh_CN", *args)
        assert code == 2, output
        flat = " ".join(output.split())
        assert chinese in flat, flat
        code, english = run(*args)
        assert code == 2
        assert chinese not in " ".join(english.split())


def test_typers_own_words_around_the_help_follow_the_language() -> None:
    code, output = run("--lang", "zh_CN", "export", "sdtm", "--help")
    assert code == 0, output
    assert "选项" in output
    assert "[必填]" in output
    assert "[默认：NADCART]" in output
    code, output = run("export", "sdtm", "--help")
    assert "Options" in output
    assert "[required]" in output
    assert "选项" not in output


def test_clicks_own_messages_follow_the_language() -> None:
    """click's usage line and its refusals (a missing option, an unknown command, a value of
    the wrong type or out of range) are said in the run's language; the option, the command
    and the value typed stay as they are."""
    cases = [
        (("export", "sdtm"), "缺少选项 '--out'。"),
        (("expor",), "没有命令 'expor'。您是否要输入 'export', 'report'？"),
        (
            ("audit", "reads", "--limit", "many"),
            "'--limit' 的值无效：应为整数，无法将文本解析为整数",
        ),
        (("audit", "reads", "--limit", "0"), "'--limit' 的值无效：应大于或等于 1"),
        (("audit", "reads", "--chek"), "没有此选项：--chek（可用选项：--check, --help, --since）"),
        (("audit", "reads", "extra"), "收到多余的参数（extra）"),
        (("user", "add", "x", "--role", "janitor"), "'--role' 的值无效：'janitor' 不是 'admin',"),
    ]
    for args, chinese in cases:
        code, output = run("--lang", "zh_CN", *args)
        assert code == 2, output
        assert "用法：neurocart" in output or "用法： neurocart" in output, output
        assert chinese in " ".join(output.replace("│", " ").split()), output
        assert not {"Usage", "Missing", "Invalid", "such"} & latin_words(output), output
    code, output = run("export", "sdtm")
    assert code == 2
    assert "Usage: neurocart export sdtm" in output
    assert "Missing option '--out'." in output


def test_the_usage_line_of_the_help_follows_the_language() -> None:
    code, output = run("--lang", "zh_CN", "audit", "verify", "--help")
    assert code == 0, output
    assert "用法： neurocart audit verify" in output, output


def test_brackets_in_a_help_text_are_shown_not_taken_for_markup() -> None:
    code, output = run("export", "sdtm", "--help")
    assert code == 0, output
    assert "(TOML [terms])" in output
    code, output = run("--lang", "zh_CN", "export", "sdtm", "--help")
    assert code == 0, output
    assert "（TOML [terms]）" in output


def test_the_problems_of_a_protocol_file_are_listed_in_chinese(tmp_path: Path) -> None:
    """Each problem of a protocol file that does not validate is said by its key, with the
    TOML path and the values given kept; English unchanged."""
    from importlib import resources

    shipped = resources.files("neurocart.pathway") / "protocols" / "nad-cart-2025.toml"
    text = shipped.read_text(encoding="utf-8")
    broken = text.replace('anchor = "enrolment"', 'anchor = "nowhere"', 1) + "\nsurplus = 1\n"
    path = tmp_path / "broken.toml"
    path.write_text(broken, encoding="utf-8")
    code, output = run("--lang", "zh_CN", "protocol", "check", str(path))
    assert code == 2, output
    flat = " ".join(output.split())
    assert f"无效的方案 {path}：" in flat, output
    assert "surplus：未知的键" in flat, output
    assert "未知的锚点 'nowhere'（[anchors] 中声明的：" in flat, output
    assert "unknown" not in flat, output
    code, output = run("protocol", "check", str(path))
    assert "surplus: unknown key" in " ".join(output.split())


def test_the_problems_of_a_rule_file_are_listed_in_chinese(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        'version = 2\n[[rule]]\nid = "fever"\ntitle = "Fever"\naction = "Act"\n'
        'source = "Lee 2019"\nseverity = "loud"\ndisciplines = ["neurology"]\n'
        'when = {signal = "temperatur", op = ">=", value = 38.0}\n'
        'resolve = {signal = "temperature_c", op = "<", value = 38.0}\n'
        "[routing]\nescalate_after_minutes = {urgent = 0}\n",
        encoding="utf-8",
    )
    code, output = run("--lang", "zh_CN", "monitor", "replay", "--all", "--rules", str(path))
    assert code == 2, output
    flat = " ".join(output.split())
    assert f"无效的规则文件 {path}：" in flat, output
    assert "version：不支持的版本 2；应为 1" in flat, output
    assert (
        "rule[0] (fever).severity：应为 ['info', 'warning', 'urgent', 'critical'] 之一，得到 'loud'"
        in (flat)
    ), output
    assert "rule[0] (fever).when.signal：未知的信号 'temperatur'；已知信号：" in flat, output
    assert "routing.escalate_after_minutes.urgent：应为 > 0 的分钟数，得到 0" in flat, output
    assert "expected" not in flat, output


def test_a_protocol_without_anchors_says_none_in_chinese(tmp_path: Path) -> None:
    """The word "none" (no anchor declared) is part of its key: translated, the anchor kept."""
    from importlib import resources

    shipped = resources.files("neurocart.pathway") / "protocols" / "outpatient-follow-up.toml"
    text = shipped.read_text(encoding="utf-8")
    broken = re.sub(r"(?m)^infusion = \"CAR-T infusion at the treating.*\n", "", text, count=1)
    assert broken != text
    path = tmp_path / "no-anchors.toml"
    path.write_text(broken, encoding="utf-8")
    code, output = run("--lang", "zh_CN", "protocol", "check", str(path))
    assert code == 2, output
    flat = " ".join(output.split())
    assert "未知的锚点 'infusion'（[anchors] 中声明的：无）" in flat, output
    assert "none" not in flat, output
    code, output = run("protocol", "check", str(path))
    assert "unknown anchor 'infusion' (declared in [anchors]: none)" in " ".join(output.split())
