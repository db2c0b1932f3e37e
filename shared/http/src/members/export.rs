//! The member exports of `ORGANIZATION:EXPORT` holders: `members.xlsx` (a real
//! spreadsheet: dates as dates, the fee as a number, validity as a boolean)
//! and `members.csv` (RFC 4180, UTF-8), with the same columns.

use chrono::{Datelike, NaiveDate};
use patron_hub_domain::organizations::Member;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

/// The header row of both exports.
pub const COLUMNS: [&str; 11] = [
    "Membership id",
    "User name",
    "First name",
    "Last name",
    "E-mail",
    "Roles",
    "Titles",
    "Start",
    "End",
    "Fee (cents)",
    "Valid today",
];

/// One member as the exports show them.
struct Row {
    texts: [String; 7],
    start: NaiveDate,
    end: NaiveDate,
    fee: u64,
    valid_today: bool,
}

fn rows(members: &[Member], today: NaiveDate) -> Vec<Row> {
    members
        .iter()
        .map(|member| {
            let m = &member.membership;
            let person = member.person.as_ref();
            let name = |f: fn(&patron_hub_domain::accounts::Account) -> &str| {
                person.map(f).unwrap_or_default().to_owned()
            };
            let roles: Vec<&str> = m.roles.iter().map(|r| r.as_str()).collect();
            Row {
                texts: [
                    m.id.to_string(),
                    name(|a| a.user_name.as_str()),
                    name(|a| a.first_name.as_str()),
                    name(|a| a.last_name.as_str()),
                    name(|a| a.email.as_str()),
                    roles.join(", "),
                    m.titles.join(", "),
                ],
                start: m.date_start,
                end: m.date_end,
                fee: m.fee,
                valid_today: m.is_valid_on(today),
            }
        })
        .collect()
}

/// The `.xlsx` file: a header row, then one row per member.
pub fn xlsx(members: &[Member], today: NaiveDate) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Members")?;
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (col, title) in (0u16..).zip(COLUMNS) {
        sheet.write_string_with_format(0, col, title, &bold)?;
    }
    for (row, member) in (1u32..).zip(rows(members, today)) {
        for (col, text) in (0u16..).zip(&member.texts) {
            sheet.write_string(row, col, text)?;
        }
        for (col, day) in [(7, member.start), (8, member.end)] {
            match excel_date(day) {
                Some(excel) => sheet.write_datetime_with_format(row, col, excel, &date)?,
                None => sheet.write_string(row, col, day.to_string())?,
            };
        }
        // Cents fit an f64 exactly far beyond any fee.
        sheet.write_number(row, 9, member.fee as f64)?;
        sheet.write_boolean(row, 10, member.valid_today)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofit();
    workbook.save_to_buffer()
}

/// The day as an Excel date; `None` past what Excel can show (year 9999).
fn excel_date(day: NaiveDate) -> Option<ExcelDateTime> {
    let year = u16::try_from(day.year()).ok()?;
    let month = u8::try_from(day.month()).ok()?;
    let date = u8::try_from(day.day()).ok()?;
    ExcelDateTime::from_ymd(year, month, date).ok()
}

/// The `.csv` file: RFC 4180 (CRLF line ends, fields with a comma, quote or
/// line break quoted, quotes doubled), UTF-8. A text that a spreadsheet would
/// take for a formula (starting with `=`, `+`, `-`, `@`, tab or CR) gets a
/// leading `'`.
pub fn csv(members: &[Member], today: NaiveDate) -> String {
    let mut out = String::new();
    line(&mut out, COLUMNS.iter().map(|c| (*c).to_owned()));
    for member in rows(members, today) {
        let texts = member.texts.into_iter().map(|t| defused(&t));
        let rest = [
            member.start.to_string(),
            member.end.to_string(),
            member.fee.to_string(),
            member.valid_today.to_string(),
        ];
        line(&mut out, texts.chain(rest));
    }
    out
}

fn line(out: &mut String, fields: impl Iterator<Item = String>) {
    let fields: Vec<String> = fields.map(|f| quoted(&f)).collect();
    out.push_str(&fields.join(","));
    out.push_str("\r\n");
}

fn quoted(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

fn defused(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(quoted("plain"), "plain");
        assert_eq!(quoted("a, b"), "\"a, b\"");
        assert_eq!(quoted("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quoted("two\r\nlines"), "\"two\r\nlines\"");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(defused("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defused("@SUM"), "'@SUM");
        assert_eq!(defused("Trésorière"), "Trésorière");
    }

    #[test]
    fn dates_beyond_excel_stay_readable() {
        assert!(excel_date(NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()).is_some());
        assert!(excel_date(NaiveDate::from_ymd_opt(12_000, 1, 1).unwrap()).is_none());
    }
}
