//! The demo mapping's fee tax: which input tax code Amazon's fees carry in the sandbox world.

/// The input tax code of Amazon's fees without VAT (the FBA fee of an order the buyer paid no VAT
/// on) in the sandbox's UK company.
const UNTAXED_FEE_CODE: &str = "I0";

/// The mapping's fee tax for the sandbox world: where Amazon's fees carry VAT (the UK seller of
/// the EU world, on every marketplace) every fee account takes the company's input code with the
/// VAT inside the amount, and the FBA fee of an untaxed order the zero-rated code; fees bear no
/// tax in the NA world, so nothing is written there.
pub(super) fn fee_tax_mapping(world: &sandbox::world::World) -> String {
    let codes: std::collections::BTreeSet<&str> = world
        .marketplaces
        .iter()
        .map(|m| m.fee_tax_code)
        .filter(|c| !c.is_empty())
        .collect();
    let rate = |code: &str| {
        sandbox::world::sap_company::VAT_GROUPS
            .iter()
            .find(|g| g.0 == code)
            .and_then(|g| g.4.last())
            .map(|(_, r)| *r)
    };
    let mut out = String::new();
    if codes.is_empty() {
        return out;
    }
    out.push_str(
        "\n# Amazon's fees with their VAT (input tax codes of the sandbox company).\n[tax_rates]\n",
    );
    for code in codes.iter().copied().chain([UNTAXED_FEE_CODE]) {
        if let Some(r) = rate(code) {
            out.push_str(&format!("{code} = \"{r}\"\n"));
        }
    }
    for m in world
        .marketplaces
        .iter()
        .filter(|m| !m.fee_tax_code.is_empty())
    {
        // Storage and inbound fees come without a marketplace-name: one code for every
        // marketplace covers them too.
        let marketplace = if codes.len() == 1 { "*" } else { m.name };
        for account in ["ReferralFees", "SellingFees", "Storage"] {
            out.push_str(&format!(
                "\n[[tax]]\naccount = \"{account}\"\nmarketplace = \"{marketplace}\"\ntax_code = \"{}\"\ntax_gross = true\n",
                m.fee_tax_code
            ));
        }
        out.push_str(&format!(
            "\n[[tax]]\naccount = \"FbaFees\"\nmarketplace = \"{marketplace}\"\ntax_code = \"{}\"\ntax_gross = true\ntax_code_untaxed_order = \"{UNTAXED_FEE_CODE}\"\n",
            m.fee_tax_code
        ));
        if codes.len() == 1 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rust_decimal::Decimal;
    use sandbox::world::{World, WorldKind};
    use settlement_mapper::mapping::{LineTax, MappingTable, RowKey};

    use super::fee_tax_mapping;

    #[test]
    fn the_eu_world_taxes_its_fees_and_the_na_world_does_not() {
        let anchor = chrono::Utc.with_ymd_and_hms(2026, 1, 15, 9, 30, 0).unwrap();
        let na = World::generate(WorldKind::Na, 5, 10, anchor);
        assert_eq!(fee_tax_mapping(&na), "");
        let eu = World::generate(WorldKind::Eu, 5, 10, anchor);
        let text = format!("{}{}", super::super::SANDBOX_MAPPING, fee_tax_mapping(&eu));
        let table = MappingTable::from_toml(&text).unwrap();
        assert_eq!(table.tax_rate("I1"), Some(Decimal::from(20)));
        let choice = |desc: &str, marketplace: &str| {
            let key = RowKey {
                transaction_type: "Order",
                amount_type: "ItemFees",
                amount_description: desc,
                marketplace,
                fulfillment: "AFN",
            };
            let i = table.lookup(&key).unwrap();
            table.tax_for(i, table.rule(i).to.label(), marketplace, "AFN")
        };
        let i1 = Some(LineTax {
            code: "I1".into(),
            gross: true,
        });
        let fba = choice("FBAPerUnitFulfillmentFee", "Amazon.de");
        assert_eq!(fba.taxed, i1);
        assert_eq!(
            fba.untaxed_order,
            Some(Some(LineTax {
                code: "I0".into(),
                gross: true,
            }))
        );
        assert_eq!(choice("Commission", "Amazon.co.uk").taxed, i1);
        assert_eq!(choice("Commission", "Amazon.co.uk").untaxed_order, None);
    }
}
