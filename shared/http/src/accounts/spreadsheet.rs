//! Reads the bulk-import spreadsheet (`.xlsx`): a header row naming the columns
//! `user_name, nom, prenom, email, roles, dept` (case, spaces and quotes
//! ignored), then one account per row. Line numbers are the sheet's own, so
//! errors say `Line N: ...` as a person sees it in a spreadsheet program.

use calamine::{Data, Reader, Xlsx};
use patron_hub_domain::accounts::{ImportLimits, ImportRow};
use std::collections::BTreeMap;
use std::io::Cursor;

/// The columns an import file must have.
pub const COLUMNS: [&str; 6] = ["user_name", "nom", "prenom", "email", "roles", "dept"];

/// The non-empty cells of a sheet as text, by row then column (0-based).
type Cells = BTreeMap<u32, BTreeMap<u32, String>>;

/// The data rows of the first sheet, or every problem with the file itself
/// (unreadable, too large, missing or unknown columns). Empty rows are
/// skipped. Every cell must lie within `limits` (the sheet's declared
/// dimensions are checked first, then each cell as it is read), and only the
/// non-empty cells are kept: a sheet naming A1 and XFD1048576 is refused
/// without laying out the rectangle between them.
pub fn import_rows_within(
    bytes: &[u8],
    limits: ImportLimits,
) -> Result<Vec<ImportRow>, Vec<String>> {
    let cells = read_cells(bytes, limits).map_err(|problem| vec![problem])?;
    let Some((&header_row, header)) = cells.first_key_value() else {
        return Err(vec!["the sheet is empty".to_owned()]);
    };
    let first_line = header_row as usize + 1;
    let header: BTreeMap<u32, String> = header
        .iter()
        .map(|(&column, text)| (column, column_name(text)))
        .collect();
    let mut problems = Vec::new();
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| !header.values().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "Line {first_line}: missing column(s): {}",
            missing.join(", ")
        ));
    }
    let unknown: Vec<&str> = header
        .values()
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
    let column = |name: &str| header.iter().find(|(_, h)| *h == name).map(|(&c, _)| c);
    let cell = |row: &BTreeMap<u32, String>, name: &str| {
        column(name)
            .and_then(|c| row.get(&c))
            .cloned()
            .unwrap_or_default()
    };
    Ok(cells
        .range(header_row + 1..)
        .map(|(&line, row)| ImportRow {
            line: line as usize + 1,
            user_name: cell(row, "user_name"),
            nom: cell(row, "nom"),
            prenom: cell(row, "prenom"),
            email: cell(row, "email"),
            roles: cell(row, "roles"),
            dept: cell(row, "dept"),
        })
        .collect())
}

/// [`import_rows_within`] the default limits (10,000 rows and 20 columns).
pub fn import_rows(bytes: &[u8]) -> Result<Vec<ImportRow>, Vec<String>> {
    import_rows_within(bytes, ImportLimits::default())
}

/// The non-empty cells of the first sheet, streamed from its XML, or why not.
fn read_cells(bytes: &[u8], limits: ImportLimits) -> Result<Cells, String> {
    let unreadable =
        |e: &dyn std::fmt::Display| format!("the file is not a readable .xlsx spreadsheet ({e})");
    let too_large = |rows: u64, columns: u64| {
        format!(
            "the sheet reaches row {rows} and column {columns}; an import file may use at most {} rows and {} columns",
            limits.rows, limits.columns
        )
    };
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let Some(sheet) = workbook.sheet_names().into_iter().next() else {
        return Err("the file has no sheet".to_owned());
    };
    let mut reader = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(|e| unreadable(&e))?;
    let declared = reader.dimensions();
    let within = |row: u32, column: u32| row < limits.rows && column < limits.columns;
    if !within(declared.end.0, declared.end.1) {
        return Err(too_large(
            u64::from(declared.end.0) + 1,
            u64::from(declared.end.1) + 1,
        ));
    }
    let mut cells = Cells::new();
    while let Some(cell) = reader.next_cell().map_err(|e| unreadable(&e))? {
        let (row, column) = cell.get_position();
        if !within(row, column) {
            return Err(too_large(u64::from(row) + 1, u64::from(column) + 1));
        }
        let value = text(&Data::from(cell.get_value().clone()));
        if !value.is_empty() {
            cells.entry(row).or_default().insert(column, value);
        }
    }
    Ok(cells)
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

    /// Issue 11, point 5.3: one cell at A1 and one at XFD1048576 (the last a
    /// sheet can name) would make a reader lay out 17 billion cells; the sheet
    /// is refused instead, as is any cell beyond the limits.
    #[test]
    fn refuses_a_sheet_beyond_the_limits_without_laying_it_out() {
        let mut workbook = Workbook::new();
        let worksheet = workbook.add_worksheet();
        worksheet.write_string(0, 0, "user_name").unwrap();
        worksheet.write_string(1_048_575, 16_383, "far").unwrap();
        let bytes = workbook.save_to_buffer().unwrap();
        let problems = import_rows(&bytes).unwrap_err();
        assert_eq!(
            problems,
            vec!["the sheet reaches row 1048576 and column 16384; an import file may use at most 10000 rows and 20 columns".to_owned()]
        );
        let small = ImportLimits {
            rows: 3,
            columns: 6,
        };
        let header = ["user_name", "nom", "prenom", "email", "roles", "dept"];
        let fits = sheet(&[&header, &["a", "A", "B", "a@example.org", "", ""]]);
        assert_eq!(import_rows_within(&fits, small).unwrap().len(), 1);
        let too_many_rows = sheet(&[&header, &["a"], &["b"], &["c"]]);
        assert!(import_rows_within(&too_many_rows, small).unwrap_err()[0].contains("row 4"));
        let too_wide = sheet(&[&header, &["a", "", "", "", "", "", "x"]]);
        assert!(import_rows_within(&too_wide, small).unwrap_err()[0].contains("column 7"));
    }
}
