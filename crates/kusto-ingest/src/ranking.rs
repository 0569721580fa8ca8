//! Ranked storage accounts: uploads and enqueues go first to the accounts that have been
//! succeeding.
//!
//! Each account keeps, for the last minute, six buckets of ten seconds with the number of
//! attempts and successes. Its rank is the success rate over the buckets that saw attempts,
//! weighted 1 (oldest) to 6 (current); an account without attempts ranks 1.0. Accounts are
//! ordered by tiers (rank at least 0.9, 0.7, 0.3, then the rest), shuffled within a tier so that
//! load spreads, and resources are taken round-robin across accounts in that order (the
//! constants of the other SDKs). Accounts are told apart by their **name**: the first label of
//! the host, or for path-style URLs such as Azurite's the first path segment.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use url::{Host, Url};

/// Number of buckets of history per account.
pub(crate) const BUCKETS: usize = 6;
/// Duration of one bucket.
pub(crate) const BUCKET_DURATION: Duration = Duration::from_secs(10);
/// Tier thresholds (rank in percent).
pub(crate) const TIERS: [f64; 4] = [90.0, 70.0, 30.0, 0.0];

/// The storage account of a resource URL: the first label of the host, or the first path
/// segment when the host is an IP address or `localhost` (path-style URLs of emulators).
pub(crate) fn account_name(url: &Url) -> String {
    let path_style = match url.host() {
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => true,
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => true,
    };
    if path_style {
        url.path_segments()
            .and_then(|mut s| s.next())
            .unwrap_or_default()
            .to_owned()
    } else {
        url.host_str()
            .and_then(|h| h.split('.').next())
            .unwrap_or_default()
            .to_ascii_lowercase()
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    successes: u32,
    total: u32,
}

#[derive(Debug)]
struct Account {
    buckets: [Bucket; BUCKETS],
    current: usize,
    last_advance: Instant,
}

impl Account {
    fn new(now: Instant) -> Self {
        Account {
            buckets: [Bucket::default(); BUCKETS],
            current: 0,
            last_advance: now,
        }
    }

    fn advance(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last_advance);
        if elapsed < BUCKET_DURATION {
            return;
        }
        let steps = ((elapsed.as_secs_f64() / BUCKET_DURATION.as_secs_f64()) as usize).min(BUCKETS);
        for _ in 0..steps {
            self.current = (self.current + 1) % BUCKETS;
            self.buckets[self.current] = Bucket::default();
        }
        self.last_advance = now;
    }

    fn rank(&self) -> f64 {
        let mut weighted = 0.0;
        let mut weights = 0.0;
        // Weight 6 for the current bucket down to 1 for the oldest.
        for age in 0..BUCKETS {
            let index = (self.current + BUCKETS - age) % BUCKETS;
            let bucket = self.buckets[index];
            if bucket.total == 0 {
                continue;
            }
            let weight = (BUCKETS - age) as f64;
            weighted += weight * f64::from(bucket.successes) / f64::from(bucket.total);
            weights += weight;
        }
        if weights == 0.0 {
            1.0
        } else {
            weighted / weights
        }
    }
}

/// The success history of every storage account, shared by all uploads and enqueues of a
/// client.
#[derive(Debug, Default)]
pub(crate) struct RankedAccounts {
    accounts: Mutex<HashMap<String, Account>>,
}

impl RankedAccounts {
    /// An empty history.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records the outcome of one attempt on `account`.
    pub(crate) fn record(&self, account: &str, success: bool) {
        self.record_at(account, success, Instant::now());
    }

    fn record_at(&self, account: &str, success: bool, now: Instant) {
        let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = accounts
            .entry(account.to_owned())
            .or_insert_with(|| Account::new(now));
        entry.advance(now);
        let bucket = &mut entry.buckets[entry.current];
        bucket.total = bucket.total.saturating_add(1);
        if success {
            bucket.successes = bucket.successes.saturating_add(1);
        }
    }

    /// The rank (0.0 to 1.0) of `account`; 1.0 without history.
    pub(crate) fn rank(&self, account: &str) -> f64 {
        self.rank_at(account, Instant::now())
    }

    fn rank_at(&self, account: &str, now: Instant) -> f64 {
        let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        match accounts.get_mut(account) {
            Some(entry) => {
                entry.advance(now);
                entry.rank()
            }
            None => 1.0,
        }
    }

    /// Orders `resources` (URLs of containers or queues) for the next attempts: accounts by
    /// tier, shuffled within a tier, and resources round-robin across the accounts.
    pub(crate) fn order(&self, resources: &[Url]) -> Vec<Url> {
        self.order_at(resources, Instant::now(), &mut rand::rng())
    }

    fn order_at(&self, resources: &[Url], now: Instant, rng: &mut impl rand::Rng) -> Vec<Url> {
        let mut by_account: Vec<(String, Vec<Url>)> = Vec::new();
        for url in resources {
            let name = account_name(url);
            match by_account.iter_mut().find(|(a, _)| *a == name) {
                Some((_, urls)) => urls.push(url.clone()),
                None => by_account.push((name, vec![url.clone()])),
            }
        }
        let mut tiers: Vec<Vec<(String, Vec<Url>)>> = vec![Vec::new(); TIERS.len()];
        for (name, urls) in by_account {
            let rank = self.rank_at(&name, now) * 100.0;
            let tier = TIERS
                .iter()
                .position(|threshold| rank >= *threshold)
                .unwrap_or(TIERS.len() - 1);
            tiers[tier].push((name, urls));
        }
        let mut ordered = Vec::new();
        for mut tier in tiers {
            tier.shuffle(rng);
            ordered.extend(tier);
        }
        let longest = ordered.iter().map(|(_, u)| u.len()).max().unwrap_or(0);
        let mut out = Vec::with_capacity(resources.len());
        for round in 0..longest {
            for (_, urls) in &ordered {
                if let Some(url) = urls.get(round) {
                    out.push(url.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn accounts_are_named_by_host_label_or_path() {
        assert_eq!(
            account_name(&url("https://Acct1.blob.core.windows.net/c?sig=x")),
            "acct1"
        );
        assert_eq!(
            account_name(&url("http://127.0.0.1:10000/devstoreaccount1/c?sig=x")),
            "devstoreaccount1"
        );
        assert_ne!(
            account_name(&url("http://127.0.0.1:10000/account1/c")),
            account_name(&url("http://127.0.0.1:10000/account2/c"))
        );
        assert_eq!(account_name(&url("http://localhost:9/acct/q")), "acct");
    }

    #[test]
    fn rank_is_the_weighted_success_rate() {
        let ranked = RankedAccounts::new();
        let start = Instant::now();
        assert_eq!(ranked.rank_at("a", start), 1.0);
        ranked.record_at("a", true, start);
        ranked.record_at("a", false, start);
        assert!((ranked.rank_at("a", start) - 0.5).abs() < 1e-9);
        // Ten seconds later the old bucket weighs 5 and the new one (all failures) 6.
        let later = start + Duration::from_secs(10);
        ranked.record_at("a", false, later);
        let expected = (5.0 * 0.5) / 11.0;
        assert!((ranked.rank_at("a", later) - expected).abs() < 1e-9);
        // A minute without attempts forgets everything.
        assert_eq!(ranked.rank_at("a", later + Duration::from_secs(61)), 1.0);
    }

    #[test]
    fn failing_accounts_go_last_and_resources_alternate() {
        let ranked = RankedAccounts::new();
        let now = Instant::now();
        for _ in 0..5 {
            ranked.record_at("bad", false, now);
            ranked.record_at("good", true, now);
        }
        let resources = [
            url("http://127.0.0.1:10000/bad/c1"),
            url("http://127.0.0.1:10000/bad/c2"),
            url("http://127.0.0.1:10000/good/c1"),
            url("http://127.0.0.1:10000/good/c2"),
            url("http://127.0.0.1:10000/fresh/c1"),
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..20 {
            let order = ranked.order_at(&resources, now, &mut rng);
            assert_eq!(order.len(), 5);
            // good and fresh (rank 1.0) first in some order, then bad; then the second round.
            let accounts: Vec<String> = order.iter().map(account_name).collect();
            assert_eq!(accounts[2], "bad", "{accounts:?}");
            assert!(accounts[..2].contains(&"good".to_owned()));
            assert!(accounts[..2].contains(&"fresh".to_owned()));
            assert_eq!(&accounts[3..], ["good", "bad"]);
        }
    }
}
