//! Reads the bulk-import spreadsheet (`.xlsx`): a header row naming the columns
//! `user_name, nom, prenom, email, roles, dept` (case, spaces and quotes
//! ignored), then one account per row. Line numbers are the sheet's own, so
//! errors say `Line N: ...` as a person sees it in a spreadsheet program.

use calamine::{Data, Reader, Xlsx};
use patron_hub_domain::accounts::ImportRow;
use std::io::Cursor;

/// The columns an import file must have.
pub const COLUMNS: [&str; 6] = ["user_name", "nom", "prenom", "email", "roles", "dept"];

/// The data rows of the first sheet, or every problem with the file itself
/// (unreadable, missing or unknown columns). Empty rows are skipped.
pub fn import_rows(bytes: &[u8]) -> Result<Vec<ImportRow>, Vec<String>> {
    let unreadable = |e: &dyn std::fmt::Display| {
        vec![format!(
            "the file is not a readable .xlsx spreadsheet ({e})"
        )]
    };
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let range = match workbook.worksheet_range_at(0) {
        Some(Ok(range)) => range,
        Some(Err(e)) => return Err(unreadable(&e)),
        None => return Err(vec!["the file has no sheet".to_owned()]),
    };
    let first_line = range.start().map_or(1, |(row, _)| row as usize + 1);
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .ok_or_else(|| vec!["the sheet is empty".to_owned()])?
        .iter()
        .map(|cell| column_name(&text(cell)))
        .collect();
    let mut problems = Vec::new();
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "Line {first_line}: missing column(s): {}",
            missing.join(", ")
        ));
    }
    let unknown: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|h| !h.is_empty() && !COLUMNS.contains(h))
        .collect();
    if !unknown.is_empty() {
        problems.push(format!(
            "Line {first_line}: unknown column(s): {}",
            unknown.join(", ")
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let position = |name: &str| header.iter().position(|h| h == name).unwrap_or_default();
    let cell = |row: &[Data], name: &str| row.get(position(name)).map(text).unwrap_or_default();
    Ok(rows
        .enumerate()
        .filter(|(_, row)| row.iter().any(|c| !text(c).is_empty()))
        .map(|(index, row)| ImportRow {
            line: first_line + 1 + index,
            user_name: cell(row, "user_name"),
            nom: cell(row, "nom"),
            prenom: cell(row, "prenom"),
            email: cell(row, "email"),
            roles: cell(row, "roles"),
            dept: cell(row, "dept"),
        })
        .collect())
}

/// A header as compared: lower case, without spaces or quotes.
fn column_name(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '«' | '»'))
        .collect::<String>()
        .to_lowercase()
}

/// A cell as text; whole numbers without a decimal point (a numeric user name).
fn text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string().trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_xlsxwriter::Workbook;

    fn sheet(rows: &[&[&str]]) -> Vec<u8> {
        let mut workbook = Workbook::new();
        let worksheet = workbook.add_worksheet();
        for (r, row) in rows.iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                worksheet.write_string(r as u32, c as u16, *value).unwrap();
            }
        }
        workbook.save_to_buffer().unwrap()
    }

    #[test]
    fn reads_rows_with_loose_headers_and_sheet_line_numbers() {
        let bytes = sheet(&[
            &["User_Name", " NOM ", "\"prenom\"", "Email", "roles", "dept"],
            &[
                "jdupont",
                "Dupont",
                "Jean",
                "jean@example.org",
                "Enseignant, Secr",
                "INFO",
            ],
            &["", "", "", "", "", ""],
            &["mmartin", "Martin", "Marie", "marie@example.org", "", ""],
        ]);
        let rows = import_rows(&bytes).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (
                rows[0].line,
                rows[0].user_name.as_str(),
                rows[0].roles.as_str()
            ),
            (2, "jdupont", "Enseignant, Secr")
        );
        assert_eq!(
            (rows[1].line, rows[1].email.as_str()),
            (4, "marie@example.org")
        );
    }

    #[test]
    fn names_missing_and_unknown_columns() {
        let bytes = sheet(&[&["user_name", "nom", "email", "telephone"]]);
        let problems = import_rows(&bytes).unwrap_err();
        assert_eq!(
            problems,
            vec![
                "Line 1: missing column(s): prenom, roles, dept".to_owned(),
                "Line 1: unknown column(s): telephone".to_owned(),
            ]
        );
    }

    #[test]
    fn refuses_what_is_not_a_spreadsheet() {
        let problems = import_rows(b"user_name,nom\n").unwrap_err();
        assert!(problems[0].contains("not a readable .xlsx"), "{problems:?}");
    }
}
