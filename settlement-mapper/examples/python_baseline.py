"""The yardstick for the mapper benchmark (BENCHMARKS.md section 8): a straightforward Python
reading of a V2 settlement file with the standard library only.

    python3 settlement-mapper/examples/python_baseline.py FILE

csv.reader over the tab-separated file, every amount read as a Decimal (decimal comma or point),
summed in total and per order (receipts) and per (transaction-type, amount-type,
amount-description); prints the row count, the sum and the wall time. It does less than the mapper
(no mapping rules, no validation, no JSON output): it is the floor a script would give.
"""

import csv
import sys
import time
from decimal import Decimal


def amount(cell):
    if "," in cell:
        cell = cell.replace(".", "").replace(",", ".")
    return Decimal(cell)


def main(path):
    started = time.perf_counter()
    total = Decimal(0)
    rows = 0
    orders = {}
    categories = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        col = {name: i for i, name in enumerate(header)}
        next(reader)  # the summary row
        i_tt, i_at, i_ad = col["transaction-type"], col["amount-type"], col["amount-description"]
        i_amount, i_order = col["amount"], col["order-id"]
        for row in reader:
            if not row:
                continue
            value = amount(row[i_amount])
            total += value
            rows += 1
            key = (row[i_tt], row[i_at], row[i_ad])
            categories[key] = categories.get(key, Decimal(0)) + value
            order = row[i_order]
            if order:
                orders[order] = orders.get(order, Decimal(0)) + value
    elapsed = time.perf_counter() - started
    print(f"python: {rows} rows, sum {total}, {len(orders)} orders, "
          f"{len(categories)} categories, {elapsed:.3f} s")


if __name__ == "__main__":
    main(sys.argv[1])
