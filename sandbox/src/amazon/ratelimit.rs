//! Per-operation token buckets with Amazon's published rate and burst; refill is multiplied by
//! the time-scale knob so tests and benchmarks stay short.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::time::Instant;

/// One SP-API operation and its default usage plan.
#[derive(Debug, PartialEq)]
pub struct Operation {
    /// operationId.
    pub name: &'static str,
    /// Requests per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: f64,
}

macro_rules! ops {
    ($($id:ident = $name:literal, $rate:literal, $burst:literal;)*) => {
        $(
            #[doc = concat!("`", $name, "`: ", stringify!($rate), " rps, burst ", stringify!($burst), ".")]
            pub static $id: Operation = Operation { name: $name, rate: $rate, burst: $burst };
        )*
        /// Every operation the sandbox serves.
        pub static ALL: &[&Operation] = &[$(&$id),*];
    };
}

ops! {
    SEARCH_ORDERS = "searchOrders", 0.0056, 20.0;
    GET_ORDER = "getOrder", 0.5, 30.0;
    GET_ORDERS_V0 = "getOrders", 0.0167, 20.0;
    GET_ORDER_V0 = "getOrderV0", 0.5, 30.0;
    GET_ORDER_ITEMS_V0 = "getOrderItems", 0.5, 30.0;
    GET_REPORTS = "getReports", 0.0222, 10.0;
    CREATE_REPORT = "createReport", 0.0167, 15.0;
    GET_REPORT = "getReport", 2.0, 15.0;
    GET_REPORT_DOCUMENT = "getReportDocument", 0.0167, 15.0;
    LIST_FINANCIAL_EVENT_GROUPS = "listFinancialEventGroups", 0.5, 30.0;
    LIST_TRANSACTIONS = "listTransactions", 0.5, 10.0;
    GET_LISTINGS_ITEM = "getListingsItem", 5.0, 10.0;
    PATCH_LISTINGS_ITEM = "patchListingsItem", 5.0, 5.0;
    CREATE_FEED_DOCUMENT = "createFeedDocument", 0.5, 15.0;
    CREATE_FEED = "createFeed", 0.0083, 15.0;
    GET_FEED = "getFeed", 2.0, 15.0;
    GET_FEED_DOCUMENT = "getFeedDocument", 0.0222, 10.0;
    GET_MARKETPLACE_PARTICIPATIONS = "getMarketplaceParticipations", 0.016, 15.0;
    GET_INVENTORY_SUMMARIES = "getInventorySummaries", 2.0, 2.0;
}

/// `patchListingsItem` with `mode=VALIDATION_PREVIEW`, on top of `patchListingsItem`'s own
/// bucket: "Both the putListingsItem and patchListingsItem operations have a throttling rate of
/// one request per second when mode is VALIDATION_PREVIEW." (changelog 2024-01-31, "Listings
/// Items API v2021-08-01 now supports previewing errors").
// INVENTED: burst 1 (Amazon publishes the rate only) and that a preview also spends a token of
// the operation's 5 rps bucket (Amazon does not say whether the two limits overlap).
pub static PATCH_LISTINGS_ITEM_PREVIEW: Operation = Operation {
    name: "patchListingsItem(VALIDATION_PREVIEW)",
    rate: 1.0,
    burst: 1.0,
};

/// `createFeed` of a `JSON_LISTINGS_FEED`, on top of `createFeed`'s bucket: "five feed
/// submissions per five minutes" per region (changelog 2025-05-06, "Feed size and rate limit
/// changes for the JSON_LISTINGS_FEED"). The sandbox serves one seller in one region.
// INVENTED: modelled as a token bucket (rate 5/300 s, burst 5); Amazon states only the count
// per five minutes, not the algorithm.
pub static JSON_LISTINGS_FEED: Operation = Operation {
    name: "createFeed(JSON_LISTINGS_FEED)",
    rate: 5.0 / 300.0,
    burst: 5.0,
};

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// All buckets of the (single) seller x application pair.
#[derive(Debug)]
pub struct Buckets {
    map: Mutex<HashMap<&'static str, Bucket>>,
    scale: f64,
}

impl Buckets {
    /// Full buckets, refilling at `scale` x Amazon's rates.
    pub fn new(scale: f64) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            scale: if scale > 0.0 { scale } else { 1.0 },
        }
    }

    /// Refills every bucket.
    pub fn reset(&self) {
        self.map.lock().expect("buckets").clear();
    }

    /// The refill rate actually applied.
    pub fn scaled_rate(&self, op: &Operation) -> f64 {
        op.rate * self.scale
    }

    /// Takes one token; false when the bucket is empty (answer 429).
    pub fn take(&self, op: &'static Operation) -> bool {
        let now = Instant::now();
        let mut map = self.map.lock().expect("buckets");
        let b = map.entry(op.name).or_insert(Bucket {
            tokens: op.burst,
            last: now,
        });
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * op.rate * self.scale).min(op.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn buckets_hold_the_burst_and_refill_at_the_scaled_rate() {
        let b = Buckets::new(60.0);
        for _ in 0..20 {
            assert!(b.take(&SEARCH_ORDERS));
        }
        assert!(!b.take(&SEARCH_ORDERS));
        // 0.0056 x 60 = 0.336 tokens/s: one token after ~2.98 s
        tokio::time::advance(Duration::from_millis(2900)).await;
        assert!(!b.take(&SEARCH_ORDERS));
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(b.take(&SEARCH_ORDERS));
        assert!(!b.take(&SEARCH_ORDERS));
        // getReportDocument at Amazon's own numbers: burst 15, one token per 60 s
        let real = Buckets::new(1.0);
        for _ in 0..15 {
            assert!(real.take(&GET_REPORT_DOCUMENT));
        }
        assert!(!real.take(&GET_REPORT_DOCUMENT));
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(!real.take(&GET_REPORT_DOCUMENT));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(real.take(&GET_REPORT_DOCUMENT));
    }
}
