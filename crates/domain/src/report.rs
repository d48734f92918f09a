//! Reports for supervision (督查问效, 《实施方案》四(三)): which reports there are.
//!
//! Choices the plan leaves open, and why:
//! - A report counts months in China Standard Time (UTC+8), as the unions do.
//! - A filing is a *return to hardship* (返困) when the household had exited before it.

crate::closed_list! {
    /// A report an auditor or a supervising union can pull.
    ReportName ("Name of a report", "报表名称") {
        Roster = "roster" ("filed and monitored households as of a time, by region, union, category, main cause and status, with the household flags", "建档立卡及监测家庭花名册统计：按地区、工会、困难类别、主要致困原因和状态，含家庭标识"),
        Flows = "flows" ("households filed, returned to hardship and exited (by grounds), per month", "每月新建档、返困再建档和退出（按退出类型）家庭数"),
        Assistance = "assistance" ("the assistance ledger by month, measure, delivering unit and fund source: entries, reversals, households and net amounts", "帮扶台账统计：按月份、措施、落实单位和资金来源统计笔数、冲正笔数、户数和净金额"),
        Exceptions = "exceptions" ("what needs an auditor's attention at a moment: unresolved discrepancies, open objections, the same person in two active files (it must be zero)", "须关注的异常：未处理的核对差异、未处理的公示异议、同一人员在两个有效档案中（应为零）"),
    }
}

crate::closed_list! {
    /// A kind of exception the exceptions report counts.
    ExceptionKind ("Kind of exception", "异常类型") {
        OpenDiscrepancy = "open_discrepancy" ("a difference between declared and verified data not yet resolved by staff", "申报数据与核实数据的差异尚未处理"),
        OpenObjection = "open_objection" ("an objection to a public notice not yet resolved", "公示异议尚未处理"),
        PersonInTwoFiles = "person_in_two_files" ("the same person (by identity number) in two active household files; it must be zero", "同一人员（按身份证号）同时在两个有效档案中，应为零"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in ReportName::ALL {
            assert_eq!(n.as_str().parse::<ReportName>().ok(), Some(*n));
        }
        assert!("rosters".parse::<ReportName>().is_err());
    }
}
