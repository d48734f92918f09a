//! The explanation of an assessment for its reader (an auditor, a reviewer): the figures, each
//! test with the clause it implements, and the verdict, in Chinese and English.

use jiekun_domain::closed::ClosedList;
use jiekun_domain::rules::{Decision, ExitDecision, ExitVerdict, Figures, Verdict};

use super::dto::Explanation;

fn department_zh(code: &str) -> &'static str {
    code.parse::<jiekun_domain::DepartmentCode>()
        .map_or("", |d| d.name_zh())
}

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / 100, fen.abs() % 100)
}

/// Net income per person per month, rounded down to the fen — shown to readers, never used to decide.
fn per_capita_month(f: &Figures) -> i64 {
    let divisor = f.members_counted.max(1) * f.window_months.max(1);
    f.net_income_fen.div_euclid(divisor)
}

/// Lines in Chinese and English, said together so that each says the same in both.
#[derive(Default)]
struct Lines(Explanation);

impl Lines {
    fn say(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        self.0.zh.push(zh.into());
        self.0.en.push(en.into());
    }
}

pub(super) fn explain_identify(d: &Decision) -> Explanation {
    let f = &d.figures;
    let mut l = Lines::default();
    let window = format!("{}–{}", month_text(f.window_from), month_text(f.window_to));
    let (months, members) = (f.window_months, f.members_counted);
    l.say(
        format!("计算期间 {window}（{months} 个月），计入家庭人口 {members} 人。"),
        format!("Window {window} ({months} months), {members} members counted."),
    );
    let (counted, excluded) = (yuan(f.income_counted_fen), yuan(f.income_excluded_fen));
    let (replaced, imputed) = (yuan(f.income_replaced_fen), yuan(f.income_imputed_fen));
    let imputed_to = f.members_imputed;
    l.say(
        format!("计入收入 {counted} 元（不计入类别 {excluded} 元，被核实数替代的申报数 {replaced} 元），按最低工资推定收入 {imputed} 元（{imputed_to} 人）。"),
        format!("Income counted {counted} yuan (excluded kinds {excluded}, declared figures replaced by verified ones {replaced}), minimum wage imputed {imputed} yuan ({imputed_to} members)."),
    );
    let (spent, unverified) = (yuan(f.expenditure_fen), yuan(f.expenditure_unverified_fen));
    let net = yuan(f.net_income_fen);
    l.say(
        format!("扣除已核实刚性支出 {spent} 元（未核实 {unverified} 元不扣除），家庭净收入 {net} 元。"),
        format!("Verified rigid expenditure deducted {spent} yuan (unverified {unverified} not deducted); net household income {net} yuan."),
    );
    let standard = yuan(f.standard_fen);
    l.say(
        format!("低保标准 {standard} 元/人/月。"),
        format!("Dibao standard {standard} yuan per person per month."),
    );
    let per_capita = yuan(per_capita_month(f));
    l.say(
        format!("人均月净收入约 {per_capita} 元（仅供阅读；认定按下列整数交叉相乘比较，不做除法）。"),
        format!("Net income per person per month about {per_capita} yuan (for reading only; the tests below compare whole numbers by cross-multiplication)."),
    );
    for o in &d.verified {
        let mut facts: Vec<&jiekun_domain::verification::FactRef> = Vec::new();
        for f in &o.facts {
            if !facts
                .iter()
                .any(|g| (&g.source, g.as_of, &g.task_id) == (&f.source, f.as_of, &f.task_id))
            {
                facts.push(f);
            }
        }
        let sources_zh: Vec<String> = facts
            .iter()
            .map(|f| {
                format!(
                    "{}部门 {} 核实（任务 {}）",
                    department_zh(&f.source),
                    f.as_of,
                    f.task_id
                )
            })
            .collect();
        let sources_en: Vec<String> = facts
            .iter()
            .map(|f| format!("{} as of {} (task {})", f.source, f.as_of, f.task_id))
            .collect();
        let (field, zh) = (o.field.as_str(), o.field.meaning_zh());
        let (verified, declared) = (o.verified, o.declared);
        l.say(
            format!("核实信息：{zh}以部门核实数 {verified} 为准（申报 {declared}），来源：{}。", sources_zh.join("；")),
            format!("Verified fact: {field} is taken as {verified} from the departments (declared {declared}), reported by {}.", sources_en.join("; ")),
        );
    }
    for t in &d.tests {
        let (mark_zh, mark_en) = if t.passed {
            ("通过", "passed")
        } else {
            ("未通过", "failed")
        };
        let (lhs, rhs, rule) = (t.lhs, t.rhs, t.rule);
        l.say(
            format!(
                "【{mark_zh}】{}（{lhs} 对 {rhs}）——{}",
                rule.describe_zh(),
                rule.clause_zh()
            ),
            format!(
                "[{mark_en}] {} ({lhs} against {rhs}) — {}",
                rule.describe_en(),
                rule.clause_en()
            ),
        );
    }
    match d.verdict {
        Verdict::Deep => l.say("结论：深度困难。", "Verdict: deep hardship."),
        Verdict::Relative => l.say("结论：相对困难。", "Verdict: relative hardship."),
        Verdict::Accident => l.say("结论：意外致困。", "Verdict: accident-caused hardship."),
        Verdict::NotEligible => l.say("结论：不符合困难职工认定条件。", "Verdict: not eligible."),
    }
    l.0
}

pub(super) fn explain_exit(d: &ExitDecision) -> Explanation {
    let mut l = Lines::default();
    for m in &d.months {
        let (month, income, members) = (&m.month, yuan(m.income_fen), m.members);
        let (standard, line) = (yuan(m.standard_fen), yuan(m.standard_fen * m.members));
        let (above_zh, above_en) = if m.above {
            ("超过", "above")
        } else {
            ("未超过", "not above")
        };
        let version = &m.standard_version;
        l.say(
            format!("{month}：收入 {income} 元，{members} 人 × 标准 {standard} 元 = {line} 元，{above_zh}（标准版本 {version}）"),
            format!("{month}: income {income} yuan against {members} members × standard {standard} = {line} yuan: {above_en} (standard version {version})"),
        );
    }
    let (months, causes) = (d.consecutive_months_above, &d.unresolved_causes);
    l.say(
        format!("连续超过标准 {months} 个月；未消除的致困原因：{causes:?}。"),
        format!("{months} consecutive months above the standard; causes not resolved: {causes:?}."),
    );
    match d.verdict {
        ExitVerdict::OutOfHardship => l.say(
            "结论：脱困（《实施方案》二(二)：家庭致困因素消除，家庭人均收入连续6个月超过当地低保标准）。",
            "Verdict: out of hardship (《实施方案》二(二): the causes of hardship are gone and income per member has been above the local dibao standard for 6 consecutive months).",
        ),
        ExitVerdict::SafetyNet => l.say(
            "结论：解困（《实施方案》二(二)：纳入政府救助体系和工会帮扶后，家庭生活水平达到当地低保标准）。",
            "Verdict: hardship relieved (解困, 《实施方案》二(二): with government assistance and union help the household's living level reaches the local dibao standard).",
        ),
        ExitVerdict::Stay => l.say(
            "结论：暂不退出，继续帮扶。",
            "Verdict: stays in the programme.",
        ),
    }
    l.0
}

fn month_text(k: i32) -> String {
    jiekun_domain::household::Month::from_key(k)
        .map(|m| m.to_string())
        .unwrap_or_default()
}
