//! Bad input gets an error naming line and column (or a held verdict with the reason), never a panic.

use settlement_mapper::{MappingTable, ReadErrorKind, SettlementPostings, Status, map_settlement};

const HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";
const SUMMARY: &str = "22988491762\t13.09.2024 08:59:52 UTC\t27.09.2024 08:59:52 UTC\t29.09.2024 08:59:52 UTC\t50,00\tEUR";

fn order_row(desc: &str, amount: &str) -> String {
    format!(
        "22988491762\t\t\t\t\t\tOrder\t028-7130974-6854703\t028-7130974-6854703\t\tUNYZ3zFfJ\tAmazon.de\tItemPrice\t{desc}\t{amount}\tAFN\t25.09.2024\t25.09.2024 14:36:27 UTC\t42142757294682\t\t\tTM-ATRNS-LL\t1\t"
    )
}

fn read(text: &str) -> Result<SettlementPostings, settlement_mapper::ReadError> {
    map_settlement(text.as_bytes(), &MappingTable::default_table())
}

fn error(text: &str) -> String {
    read(text).expect_err("must be rejected").to_string()
}

#[test]
fn a_good_file_reads() {
    let p = read(&format!(
        "{HEADER}\n{SUMMARY}\n{}\n",
        order_row("Principal", "50,00")
    ))
    .unwrap();
    assert_eq!(p.status, Status::Ready);
    assert_eq!(p.receipts[0].amount.to_string(), "50.00");
}

#[test]
fn empty_file_and_blank_lines_only() {
    assert_eq!(error(""), "the file is empty");
    assert_eq!(error("\n \n\t\n"), "the file is empty");
}

#[test]
fn header_only() {
    let e = error(&format!("{HEADER}\n"));
    assert!(e.starts_with("line 2: no summary row"), "{e}");
}

#[test]
fn missing_column() {
    let header = HEADER.replace("\tamount-description", "");
    let e = error(&format!("{header}\n{SUMMARY}\n"));
    assert_eq!(
        e,
        "line 1: the header has no `amount-description` column: this is not a V2 or V1 settlement flat file"
    );
    let e = error("order-id\tsku\n1\t2\n");
    assert!(e.contains("not a V2 or V1 settlement flat file"), "{e}");
}

#[test]
fn no_summary_row() {
    let e = error(&format!("{HEADER}\n{}\n", order_row("Principal", "50,00")));
    assert!(e.starts_with("line 2: expected the summary row"), "{e}");
    assert!(e.contains("`Order`"), "{e}");
}

#[test]
fn two_currencies() {
    let row =
        order_row("Principal", "50,00").replacen("\t\t\t\t\t\tOrder", "\t\t\t\t\tGBP\tOrder", 1);
    let e = error(&format!("{HEADER}\n{SUMMARY}\n{row}\n"));
    assert_eq!(
        e,
        "line 3, column `currency`: currency `GBP` differs from the settlement's `EUR`: one settlement has one currency"
    );
}

#[test]
fn bad_and_ambiguous_amounts() {
    let e = error(&format!(
        "{HEADER}\n{SUMMARY}\n{}\n",
        order_row("Principal", "5O,00")
    ));
    assert_eq!(e, "line 3, column `amount`: `5O,00` is not a number");
    let e = error(&format!(
        "{HEADER}\n{SUMMARY}\n{}\n",
        order_row("Principal", "1,234")
    ));
    assert!(
        e.starts_with("line 3, column `amount`: `1,234` is ambiguous"),
        "{e}"
    );
    let e = error(&format!(
        "{HEADER}\n{}\n",
        SUMMARY.replace("50,00", "fifty")
    ));
    assert_eq!(e, "line 2, column `total-amount`: `fifty` is not a number");
}

#[test]
fn unknown_date_format() {
    let e = error(&format!(
        "{HEADER}\n{}\n",
        SUMMARY.replace("13.09.2024 08:59:52 UTC", "09/13/24")
    ));
    assert!(
        e.starts_with(
            "line 2, column `settlement-start-date`: `09/13/24` is not a settlement date"
        ),
        "{e}"
    );
    let row = order_row("Principal", "50,00").replace("\t25.09.2024\t", "\t2024/09/25\t");
    let e = error(&format!("{HEADER}\n{SUMMARY}\n{row}\n"));
    assert!(
        e.starts_with("line 3, column `posted-date`: `2024/09/25`"),
        "{e}"
    );
}

#[test]
fn non_utf8_bytes_fall_back_to_windows_1252_with_a_warning() {
    let mut bytes = format!("\u{feff}{HEADER}\n{SUMMARY}\n").into_bytes();
    // "Geb\xfchr" is Windows-1252 for "Gebühr".
    bytes.extend_from_slice(
        order_row("Principal", "50,00")
            .replace("TM-ATRNS-LL", "GEB\u{1}")
            .as_bytes(),
    );
    let pos = bytes.iter().rposition(|&b| b == 1).unwrap();
    bytes[pos] = 0xFC;
    bytes.push(b'\n');
    let p = map_settlement(&bytes[..], &MappingTable::default_table()).unwrap();
    assert_eq!(p.status, Status::Ready);
    assert_eq!(
        p.warnings,
        vec!["line 3: not valid UTF-8; read as Windows-1252".to_owned()]
    );
}

#[test]
fn row_cut_before_its_amount() {
    let row = order_row("Principal", "50,00");
    let cut = &row[..row.find("\tPrincipal").unwrap() + "\tPrincipal".len()];
    let e = error(&format!("{HEADER}\n{SUMMARY}\n{cut}\n"));
    assert_eq!(
        e,
        "line 3, column `amount`: the row is cut before its `amount` cell (14 of 24 cells)"
    );
}

#[test]
fn short_rows_with_their_meaning_are_fine() {
    // Liquidations rows lack the trailing promotion-id cell: still a row.
    let row = order_row("Principal", "50,00");
    let short = row.trim_end_matches('\t');
    assert!(
        read(&format!("{HEADER}\n{SUMMARY}\n{short}\n"))
            .unwrap()
            .ties_out
    );
}

#[test]
fn total_that_does_not_tie_out_is_held_not_an_error() {
    let p = read(&format!(
        "{HEADER}\n{SUMMARY}\n{}\n",
        order_row("Principal", "49,99")
    ))
    .unwrap();
    assert!(!p.ties_out);
    assert_eq!(p.status, Status::Held);
    assert!(
        p.held[0].contains("sum to 49.99 but total-amount is 50.00 (difference 0.01)"),
        "{:?}",
        p.held
    );
}

#[test]
fn a_second_settlement_in_one_file() {
    let other = order_row("Principal", "50,00").replacen("22988491762", "11111111111", 1);
    let e = error(&format!("{HEADER}\n{SUMMARY}\n{other}\n"));
    assert_eq!(
        e,
        "line 3, column `settlement-id`: settlement-id `11111111111` differs from the summary's `22988491762`"
    );
    let e = error(&format!("{HEADER}\n{SUMMARY}\n{SUMMARY}\n"));
    assert!(
        e.starts_with("line 3, column `total-amount`: a second summary row"),
        "{e}"
    );
}

#[test]
fn errors_keep_their_kind_for_callers() {
    let err = read("").unwrap_err();
    assert!(matches!(err.kind, ReadErrorKind::Empty));
    let err = read(&format!(
        "{HEADER}\n{SUMMARY}\n{}\n",
        order_row("Principal", "x")
    ))
    .unwrap_err();
    assert_eq!((err.line, err.column.as_deref()), (Some(3), Some("amount")));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 7u64;
    for len in 0..400 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b"\t\n,.-0123456789abcUTC: "[(seed >> 33) as usize % 22]
            })
            .collect();
        let _ = map_settlement(&bytes[..], &MappingTable::default_table());
        let mut with_header = format!("{HEADER}\n{SUMMARY}\n").into_bytes();
        with_header.extend_from_slice(&bytes);
        let _ = map_settlement(&with_header[..], &MappingTable::default_table());
    }
}
