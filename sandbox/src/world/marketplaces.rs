//! The two worlds' marketplaces and tax jurisdictions.
//!
//! Marketplace ids: Amazon, "Marketplace IDs",
//! https://developer-docs.amazon.com/sp-api/docs/marketplace-ids (NA: CA `A2EUQ1WTGCTBG2`,
//! US `ATVPDKIKX0DER`, MX `A1AM78C64UM0Y8`; EU: UK `A1F83G8C2ARO7P`, DE `A1PA6795UKMFR9`, FR
//! `A13V1IB3VIYZZH`).

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// Which seller the sandbox plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum WorldKind {
    /// A US company (local currency USD) in the North America unified account: Amazon.com,
    /// Amazon.ca, Amazon.com.mx.
    #[default]
    Na,
    /// A UK company (local currency GBP) in the EU unified account: Amazon.co.uk, Amazon.de,
    /// Amazon.fr.
    Eu,
}

impl WorldKind {
    /// `na` / `eu` (the `--world` value and the SP-API region).
    pub fn code(self) -> &'static str {
        match self {
            WorldKind::Na => "na",
            WorldKind::Eu => "eu",
        }
    }

    /// The company's local currency (ISO).
    pub fn local_currency(self) -> &'static str {
        match self {
            WorldKind::Na => "USD",
            WorldKind::Eu => "GBP",
        }
    }

    /// The marketplace whose second settlement is negative (charged to the seller's card).
    pub(crate) fn negative_marketplace(self) -> usize {
        match self {
            // As the genuine Amazon.ca chain in ../shared/reference/settlements (adwweaver).
            WorldKind::Na => 1,
            WorldKind::Eu => 2,
        }
    }

    /// Percent of orders per marketplace, in `marketplaces()` order.
    pub(crate) fn order_shares(self) -> [u32; 3] {
        match self {
            WorldKind::Na => [70, 20, 10],
            WorldKind::Eu => [50, 30, 20],
        }
    }
}

impl fmt::Display for WorldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for WorldKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "na" => Ok(WorldKind::Na),
            "eu" => Ok(WorldKind::Eu),
            other => Err(format!("unknown world `{other}` (na | eu)")),
        }
    }
}

/// How a settlement file writes dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// `2024-10-09 14:28:38 UTC`, posted-date `2024-10-09` (NA V2 files).
    Iso,
    /// `13.09.2024 08:59:52 UTC`, posted-date `13.09.2024` (EU V2 files, the UK's included).
    Dotted,
}

/// Where a buyer is taxed, and who collects the tax there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jurisdiction {
    /// State, province or country (`WA`, `CO`, `ON`, `DE`).
    pub code: &'static str,
    /// Relative share of the marketplace's orders.
    pub weight: u32,
    /// Rate Amazon collects as marketplace facilitator / deemed supplier, in hundredths of a
    /// percent (`725` = 7.25 %), for [standard, reduced] goods.
    pub facilitator_bp: [u32; 2],
    /// Rate the seller collects itself, in hundredths of a percent, for [standard, reduced] goods.
    pub seller_bp: [u32; 2],
    /// SAP tax code of the seller's invoice line (a `SalesTaxCodes` code in the NA company, a
    /// `VatGroups` code in the UK company), for [standard, reduced] goods.
    pub tax_code: [&'static str; 2],
}

impl Jurisdiction {
    /// The facilitator's rate in percent for goods of class `reduced`.
    pub fn facilitator_rate(&self, reduced: bool) -> Decimal {
        Decimal::new(i64::from(self.facilitator_bp[usize::from(reduced)]), 2)
    }

    /// The seller's rate in percent for goods of class `reduced`.
    pub fn seller_rate(&self, reduced: bool) -> Decimal {
        Decimal::new(i64::from(self.seller_bp[usize::from(reduced)]), 2)
    }
}

/// A marketplace the seller sells on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marketplace {
    /// Marketplace id (`ATVPDKIKX0DER`).
    pub id: &'static str,
    /// Short code used in names (`US`, `UK`).
    pub code: &'static str,
    /// ISO country code (`US`, `GB`).
    pub country: &'static str,
    /// Settlement `marketplace-name` and the Orders API's `marketplaceName` (`Amazon.com`).
    pub name: &'static str,
    /// Storefront domain (`www.amazon.com`).
    pub domain: &'static str,
    /// Default language (`en_US`).
    pub language: &'static str,
    /// Settlement and order currency (ISO 4217).
    pub currency: &'static str,
    /// The SAP company's code for that currency (`$` for USD in the NA company).
    pub sap_currency: &'static str,
    /// SAP customer (BP) that stands for the marketplace.
    pub customer: &'static str,
    /// SAP price list holding this marketplace's prices (marketplaces with one currency and one
    /// price, Amazon.de and Amazon.fr, share theirs).
    pub price_list: i64,
    /// Catalog prices are the base price times this, in hundredths (`135` = 1.35).
    pub price_factor_pct: i64,
    /// Cents every price ends in (`99` for 19.99; `0` for whole pesos).
    pub price_ending_cents: i64,
    /// Shipping an MFN buyer pays when charged, in cents.
    pub shipping_cents: i64,
    /// Standard VAT rate in percent (UK 20, DE 19, FR 20; 0 in NA, which has no VAT: there the
    /// rates are per `jurisdictions`).
    pub vat_rate: Decimal,
    /// Whether Amazon collects the VAT as deemed supplier (DE, FR); false in NA, where
    /// `Jurisdiction::facilitator_bp` says per state whether Amazon collects sales tax.
    pub facilitator_vat: bool,
    /// Whether item and shipping prices include the tax (VAT: yes; sales tax, GST, IVA: no).
    pub prices_include_tax: bool,
    /// Whether settlement amounts use a decimal comma (EUR files) or a point.
    pub decimal_comma: bool,
    /// How the settlement file writes dates.
    pub date_style: DateStyle,
    /// VAT Amazon adds to its fees, in percent (0 where fees bear no tax).
    pub fee_vat_rate: Decimal,
    /// SAP input tax code for Amazon's fees ("" where they bear no tax).
    pub fee_tax_code: &'static str,
    /// Whether Amazon charges a digital services fee on this marketplace.
    pub digital_services_fee: bool,
    /// Order id prefixes.
    pub order_prefixes: &'static [&'static str],
    /// Where buyers are taxed.
    pub jurisdictions: &'static [Jurisdiction],
    /// Who `taxCollections.responsibleParty` names where Amazon collects the tax.
    pub facilitator: &'static str,
    /// `taxCalculationBreakdowns.reportingScheme` of facilitated items (`UOSS`), if any.
    pub reporting_scheme: Option<&'static str>,
}

impl Marketplace {
    /// The marketplace's price for a base price: scaled, truncated to whole units, plus its
    /// usual ending.
    pub fn price_from_base(&self, base: Decimal) -> Decimal {
        (base * Decimal::new(self.price_factor_pct, 2)).trunc()
            + Decimal::new(self.price_ending_cents, 2)
    }

    /// The shipping charge of an MFN order that charges shipping.
    pub fn shipping_charge(&self) -> Decimal {
        Decimal::new(self.shipping_cents, 2)
    }

    /// Picks a jurisdiction from `roll` in `0..total_weight()`.
    pub fn jurisdiction_at(&self, mut roll: u32) -> &'static Jurisdiction {
        for j in self.jurisdictions {
            if roll < j.weight {
                return j;
            }
            roll -= j.weight;
        }
        &self.jurisdictions[self.jurisdictions.len() - 1]
    }

    /// Sum of the jurisdictions' weights.
    pub fn total_weight(&self) -> u32 {
        self.jurisdictions.iter().map(|j| j.weight).sum()
    }
}

const fn j(
    code: &'static str,
    weight: u32,
    facilitator_bp: [u32; 2],
    seller_bp: [u32; 2],
    tax_code: [&'static str; 2],
) -> Jurisdiction {
    Jurisdiction {
        code,
        weight,
        facilitator_bp,
        seller_bp,
        tax_code,
    }
}

/// US ship-to states. "All US States with a sales and use tax have enacted MPF/MTC laws" and
/// Amazon "is responsible to calculate, collect, remit, and refund sales and use tax" there;
/// "there are some local jurisdictions where state MPF/MTC laws do not apply, such as Colorado
/// Home Rule Cities", where taxes calculated by Amazon's Tax Calculation Services "are disbursed
/// to the seller to report and remit" (Amazon Seller Central, "US Marketplace Tax Collection
/// FAQ", https://sellercentral.amazon.com/gp/help/external/G7VYHGJ8ZT2M58CP). Oregon has no
/// sales tax.
// INVENTED: the rates are state-level only (no county/city add-ons), and the Colorado buyers all
// live in one home-rule city whose own 3.86 % the seller collects; the seller's SAP invoice
// carries `MPF` (0 %) for tax Amazon collects.
const US: &[Jurisdiction] = &[
    j("WA", 15, [650, 650], [0, 0], ["MPF", "MPF"]),
    j("CA", 25, [725, 725], [0, 0], ["MPF", "MPF"]),
    j("NY", 15, [400, 400], [0, 0], ["MPF", "MPF"]),
    j("TX", 15, [625, 625], [0, 0], ["MPF", "MPF"]),
    j("FL", 10, [600, 600], [0, 0], ["MPF", "MPF"]),
    j("CO", 10, [290, 290], [386, 386], ["COHR", "COHR"]),
    j("OR", 10, [0, 0], [0, 0], ["EX", "EX"]),
];

// INVENTED: the US seller is registered for GST/HST and collects it itself on Amazon.ca (Canada
// makes platforms collect only for unregistered non-resident vendors; not modelled), so no
// withheld-tax rows appear in CA settlements.
const CA: &[Jurisdiction] = &[
    j("ON", 60, [0, 0], [1300, 1300], ["HST13", "HST13"]),
    j("AB", 40, [0, 0], [500, 500], ["GST5", "GST5"]),
];

// INVENTED: the seller collects Mexican IVA itself (16 %, books 0 %); the platform withholding of
// IVA and ISR that Mexican law imposes is not modelled.
const MX: &[Jurisdiction] = &[j("CMX", 1, [0, 0], [1600, 0], ["IVA16", "IVA0"])];

/// The EU world follows the genuine Amazon.de file of a UK-established seller
/// (thetis_EU-DE_V2_22988491762.txt: `MarketplaceFacilitatorVAT-*` rows netting its VAT, fees
/// with UK VAT). The UK company's own sales on Amazon.co.uk: 20 % standard, 0 % zero-rated goods (books);
/// the seller collects them (Amazon collects UK VAT only for overseas sellers and consignments
/// up to GBP 135: Amazon, "Change on VAT rules for sales to UK customers",
/// https://sellercentral.amazon.com/forums/t/change-on-vat-rules-for-sales-to-uk-customers/763189).
const GB: &[Jurisdiction] = &[j("GB", 1, [0, 0], [2000, 0], ["O1", "O0"])];

/// Amazon is the deemed supplier of goods sold within the EU by a seller "not established in the
/// EU" (EU e-commerce package, 1 July 2021; VAT Directive Art. 14a(2); summary at
/// https://1stopvat.com/amazon-deemed-supplier-liability-and-blocked-merchants-accounts), which a
/// UK company is since Brexit. The UK company's books show these sales outside the scope of UK
/// VAT (`OS`). Germany 19 % / 7 %, France 20 % / 5.5 % (books).
const DE: &[Jurisdiction] = &[j("DE", 1, [1900, 700], [0, 0], ["OS", "OS"])];
const FR: &[Jurisdiction] = &[j("FR", 1, [2000, 550], [0, 0], ["OS", "OS"])];

/// `responsibleParty` of US facilitator tax: the only value the Orders v0 model lists
/// (`TaxCollection.ResponsibleParty` enum, `ordersV0.json`).
pub const US_FACILITATOR: &str = "Amazon Services, Inc.";

/// The marketplaces of `kind`, home marketplace first.
pub fn marketplaces(kind: WorldKind) -> Vec<Marketplace> {
    match kind {
        WorldKind::Na => vec![
            Marketplace {
                id: "ATVPDKIKX0DER",
                code: "US",
                country: "US",
                name: "Amazon.com",
                domain: "www.amazon.com",
                language: "en_US",
                currency: "USD",
                // SAP's US demo company uses `$` as the code of its local currency.
                sap_currency: "$",
                customer: "C-AMZ-US",
                vat_rate: Decimal::from_parts(0, 0, 0, false, 0),
                facilitator_vat: false,
                price_factor_pct: 100,
                price_ending_cents: 99,
                shipping_cents: 499,
                price_list: 2,
                prices_include_tax: false,
                decimal_comma: false,
                date_style: DateStyle::Iso,
                fee_vat_rate: Decimal::ZERO,
                fee_tax_code: "",
                digital_services_fee: false,
                // Amazon.com order ids start 111- to 114- (114- in the hand-made US reference
                // file; the genuine US file of notes/settlement.md §7 was not saved).
                order_prefixes: &["111", "112", "113", "114"],
                jurisdictions: US,
                facilitator: US_FACILITATOR,
                reporting_scheme: None,
            },
            Marketplace {
                id: "A2EUQ1WTGCTBG2",
                code: "CA",
                country: "CA",
                name: "Amazon.ca",
                domain: "www.amazon.ca",
                language: "en_CA",
                currency: "CAD",
                sap_currency: "CAD",
                customer: "C-AMZ-CA",
                vat_rate: Decimal::from_parts(0, 0, 0, false, 0),
                facilitator_vat: false,
                price_factor_pct: 135,
                price_ending_cents: 99,
                shipping_cents: 699,
                price_list: 3,
                prices_include_tax: false,
                decimal_comma: false,
                date_style: DateStyle::Iso,
                fee_vat_rate: Decimal::ZERO,
                fee_tax_code: "",
                digital_services_fee: false,
                // Genuine Amazon.ca order ids start 701- / 702- (adwweaver CA files).
                order_prefixes: &["701", "702"],
                jurisdictions: CA,
                facilitator: US_FACILITATOR,
                reporting_scheme: None,
            },
            Marketplace {
                id: "A1AM78C64UM0Y8",
                code: "MX",
                country: "MX",
                name: "Amazon.com.mx",
                domain: "www.amazon.com.mx",
                language: "es_MX",
                currency: "MXN",
                sap_currency: "MXN",
                customer: "C-AMZ-MX",
                vat_rate: Decimal::from_parts(0, 0, 0, false, 0),
                facilitator_vat: false,
                price_factor_pct: 1700,
                price_ending_cents: 0,
                shipping_cents: 9900,
                price_list: 4,
                prices_include_tax: false,
                decimal_comma: false,
                date_style: DateStyle::Iso,
                fee_vat_rate: Decimal::ZERO,
                fee_tax_code: "",
                digital_services_fee: false,
                // INVENTED: no genuine Amazon.com.mx order id was found; 701-/702- as Amazon.ca.
                order_prefixes: &["701", "702"],
                jurisdictions: MX,
                facilitator: US_FACILITATOR,
                reporting_scheme: None,
            },
        ],
        WorldKind::Eu => vec![
            Marketplace {
                id: "A1F83G8C2ARO7P",
                code: "UK",
                country: "GB",
                name: "Amazon.co.uk",
                domain: "www.amazon.co.uk",
                language: "en_GB",
                currency: "GBP",
                sap_currency: "GBP",
                customer: "C-AMZ-UK",
                vat_rate: Decimal::from_parts(20, 0, 0, false, 0),
                facilitator_vat: false,
                price_factor_pct: 79,
                price_ending_cents: 49,
                shipping_cents: 399,
                price_list: 3,
                prices_include_tax: true,
                decimal_comma: false,
                date_style: DateStyle::Dotted,
                fee_vat_rate: FEE_VAT,
                fee_tax_code: "I1",
                digital_services_fee: false,
                order_prefixes: &["202", "203", "204", "205", "206"],
                jurisdictions: GB,
                facilitator: EU_FACILITATOR,
                reporting_scheme: None,
            },
            Marketplace {
                id: "A1PA6795UKMFR9",
                code: "DE",
                country: "DE",
                name: "Amazon.de",
                domain: "www.amazon.de",
                language: "de_DE",
                currency: "EUR",
                sap_currency: "EUR",
                customer: "C-AMZ-DE",
                vat_rate: Decimal::from_parts(19, 0, 0, false, 0),
                facilitator_vat: true,
                price_factor_pct: 92,
                price_ending_cents: 99,
                shipping_cents: 499,
                price_list: 2,
                prices_include_tax: true,
                decimal_comma: true,
                date_style: DateStyle::Dotted,
                fee_vat_rate: FEE_VAT,
                fee_tax_code: "I1",
                digital_services_fee: false,
                order_prefixes: &["028", "302", "303", "304", "305", "306"],
                jurisdictions: DE,
                facilitator: EU_FACILITATOR,
                reporting_scheme: Some("UOSS"),
            },
            Marketplace {
                id: "A13V1IB3VIYZZH",
                code: "FR",
                country: "FR",
                name: "Amazon.fr",
                domain: "www.amazon.fr",
                language: "fr_FR",
                currency: "EUR",
                sap_currency: "EUR",
                customer: "C-AMZ-FR",
                vat_rate: Decimal::from_parts(20, 0, 0, false, 0),
                facilitator_vat: true,
                price_factor_pct: 92,
                price_ending_cents: 99,
                shipping_cents: 499,
                price_list: 2,
                prices_include_tax: true,
                decimal_comma: true,
                date_style: DateStyle::Dotted,
                fee_vat_rate: FEE_VAT,
                fee_tax_code: "I1",
                digital_services_fee: true,
                order_prefixes: &["171", "402", "403", "404", "405", "406"],
                jurisdictions: FR,
                facilitator: EU_FACILITATOR,
                reporting_scheme: Some("UOSS"),
            },
        ],
    }
}

/// UK VAT on Amazon's fees for UK-established sellers since 1 August 2024, when Amazon EU
/// S.à r.l.'s UK branch took over invoicing. Amazon's notice (as relayed at
/// https://cottonsgroup.com/?p=17229637): sellers in the UK "Invoices will be issued by the AEU
/// branch in your country of establishment. Local VAT rules will apply", and "disbursement amounts
/// will change due to the application of local VAT on Amazon fees". Accountants: "all Amazon fees
/// will be subject to the standard 20% VAT rate", "an additional deduction which Amazon will make from their settlement payments"
/// (https://ecommerceaccountants.co.uk/post/amazon-uk-vat-changes-what-you-need-to-know;
/// https://ryecroftglenton.com/2024/07/16/amazon-invoicing-update-to-vat-treatment-for-uk-sellers).
/// The settlement shows it in the fee rows: in the genuine Amazon.de file of a UK-established
/// seller (../shared/reference/settlements/thetis_EU-DE_V2_22988491762.txt) `Commission −10,44`
/// is 15 % of 57,99 (8,70) × 1.20, `RefundCommission −2,09` = 1,74 × 1.20; a genuine UK file has
/// `FBAPerUnitFulfillmentFee −3.96` = 3.30 × 1.20 (reviews/accounting.md B2).
// INVENTED: that every fee row (storage, inbound and the rest too) carries the VAT, except the FBA
// fee of an order with no VAT on any item (the genuine UK file's zero-rated order); Amazon's fee
// invoices zero-rate some others (international FBA shipments), which is not modelled.
const FEE_VAT: Decimal = Decimal::from_parts(20, 0, 0, false, 0);

/// `responsibleParty` of EU deemed-supplier VAT.
// INVENTED: Amazon's models document only "Amazon Services, Inc." (US); the EU deemed supplier is
// Amazon EU S.à r.l.
pub const EU_FACILITATOR: &str = "Amazon EU S.a r.l.";
