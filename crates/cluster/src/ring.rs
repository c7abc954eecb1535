//! The consistent hash ring that maps each node to one live conductor; pure.
//!
//! Shaped exactly after Ironic's (`ironic/common/hash_ring.py` over tooz's
//! `HashRing`): one ring per (conductor group, hardware type), made of the
//! conductors of that group that support that type. Each conductor occupies
//! `partitions` virtual points on the ring, point `r` being the MD5 of its
//! hostname repeated `r + 1` times; a node belongs to the conductor owning the
//! first point strictly after MD5(node UUID), wrapping around. Because the
//! placement depends only on the set of live conductors, every instance that sees
//! the same membership computes the same owners without talking to the others, and
//! when a conductor leaves only the nodes it owned move.

use std::collections::BTreeMap;
use std::sync::Arc;

use ::md5::Digest as _;

use crate::md5::{Md5, position, position_of};
use crate::record::ConductorInfo;

/// Virtual points per conductor. More points balance nodes more evenly across
/// conductors at the cost of a larger ring; Ironic's default is 32
/// (`hash_partition_exponent = 5`), which leaves shares off by a third with three
/// conductors, so Ferric uses 2^8.
pub const DEFAULT_PARTITIONS: usize = 256;

/// One ring over a set of conductors (tooz's `HashRing`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashRing {
    /// Ring positions in ascending order, each with its conductor's index in `hosts`.
    points: Vec<(u128, usize)>,
    /// The conductors, sorted by hostname.
    hosts: Vec<String>,
}

impl HashRing {
    /// Builds a ring of `hosts` (duplicates count once), each with `partitions`
    /// virtual points (at least one).
    pub fn new<I, S>(hosts: I, partitions: usize) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut hosts: Vec<String> = hosts.into_iter().map(|h| h.as_ref().to_owned()).collect();
        hosts.sort();
        hosts.dedup();
        let points = hosts.iter().map(|host| Arc::new(host_points(host, partitions))).collect::<Vec<_>>();
        Self::from_points(hosts, &points)
    }

    /// Builds a ring from precomputed per-host points (`points[i]` for `hosts[i]`,
    /// hosts sorted and unique), so rings sharing conductors hash each one once.
    fn from_points(hosts: Vec<String>, points: &[Arc<Vec<u128>>]) -> Self {
        let mut ring: Vec<(u128, usize)> =
            points.iter().enumerate().flat_map(|(i, ps)| ps.iter().map(move |&p| (p, i))).collect();
        // Ties (an MD5 collision) break by hostname order, identically everywhere.
        ring.sort_unstable();
        Self { points: ring, hosts }
    }

    /// The conductors on this ring, sorted.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// The conductor owning `key`: the first in [`Self::get_hosts`]. `None` only
    /// for an empty ring.
    pub fn owner(&self, key: &str) -> Option<&str> {
        self.walk(key).next()
    }

    /// Up to `replicas` distinct conductors for `key`, in ring order from its
    /// position: the owner first, then who would own it if the owner left, and so
    /// on (tooz's `get_nodes`, ordered).
    pub fn get_hosts(&self, key: &str, replicas: usize) -> Vec<&str> {
        let wanted = replicas.min(self.hosts.len());
        let mut found: Vec<&str> = Vec::with_capacity(wanted);
        for host in self.walk(key) {
            if found.len() == wanted {
                break;
            }
            if !found.contains(&host) {
                found.push(host);
            }
        }
        found
    }

    /// Conductors at successive points from `key`'s position, once around the ring.
    fn walk(&self, key: &str) -> impl Iterator<Item = &str> {
        let hash = position_of(key.as_bytes());
        // bisect_right: the first point strictly greater than the key's hash.
        let start = self.points.partition_point(|&(p, _)| p <= hash);
        let (after, before) = self.points.split_at(start);
        before.iter().chain(after).map(|&(_, host)| self.hosts[host].as_str())
    }
}

/// The `partitions` ring positions of `host`: MD5 of the hostname repeated 1, 2,
/// ... times, as tooz's incremental `key_hash.update(key)` produces them.
fn host_points(host: &str, partitions: usize) -> Vec<u128> {
    let mut md5 = Md5::new();
    (0..partitions.max(1))
        .map(|_| {
            md5.update(host.as_bytes());
            position(md5.clone())
        })
        .collect()
}

/// The cluster-wide placement: one [`HashRing`] per (conductor group, hardware
/// type) over the live conductors, built from a membership snapshot.
#[derive(Debug, Clone, Default)]
pub struct Ring {
    /// The live conductors by hostname.
    conductors: BTreeMap<String, ConductorInfo>,
    /// `(conductor_group, hardware_type)` to the ring of conductors in that group
    /// supporting that type.
    rings: BTreeMap<(String, String), HashRing>,
}

impl Ring {
    /// The ring of `conductors` with [`DEFAULT_PARTITIONS`]; a hostname listed
    /// twice counts once (the last entry wins).
    pub fn new(conductors: impl IntoIterator<Item = ConductorInfo>) -> Self {
        Self::with_partitions(conductors, DEFAULT_PARTITIONS)
    }

    /// [`Self::new`] with `partitions` virtual points per conductor. Every instance
    /// of a cluster must use the same value, or they disagree on owners.
    pub fn with_partitions(conductors: impl IntoIterator<Item = ConductorInfo>, partitions: usize) -> Self {
        let conductors: BTreeMap<String, ConductorInfo> =
            conductors.into_iter().map(|info| (info.hostname.clone(), info)).collect();
        let points: BTreeMap<&str, Arc<Vec<u128>>> =
            conductors.keys().map(|host| (host.as_str(), Arc::new(host_points(host, partitions)))).collect();
        // Hosts per (group, type), in hostname order since `conductors` is sorted.
        let mut members: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
        for info in conductors.values() {
            for hardware_type in &info.hardware_types {
                let hosts = members.entry((info.conductor_group.clone(), hardware_type.clone())).or_default();
                if !hosts.contains(&info.hostname.as_str()) {
                    hosts.push(&info.hostname);
                }
            }
        }
        let rings = members
            .into_iter()
            .map(|(key, hosts)| {
                let host_points: Vec<Arc<Vec<u128>>> = hosts.iter().map(|h| points[h].clone()).collect();
                let hosts = hosts.into_iter().map(str::to_owned).collect();
                (key, HashRing::from_points(hosts, &host_points))
            })
            .collect();
        Self { conductors, rings }
    }

    /// The live conductors, by hostname.
    pub fn conductors(&self) -> impl Iterator<Item = &ConductorInfo> {
        self.conductors.values()
    }

    /// The live conductors' hostnames, sorted: the membership set.
    pub fn hostnames(&self) -> Vec<&str> {
        self.conductors.keys().map(String::as_str).collect()
    }

    /// Whether `hostname` is a live member.
    pub fn contains(&self, hostname: &str) -> bool {
        self.conductors.contains_key(hostname)
    }

    /// The conductor that owns the node: the ring of its group and hardware type
    /// decides. `None` when no live conductor of that group drives that type, in
    /// which case nobody may act on the node.
    pub fn owner_of(&self, node_uuid: &str, conductor_group: &str, hardware_type: &str) -> Option<&str> {
        self.ring_for(conductor_group, hardware_type)?.owner(node_uuid)
    }

    /// The owner of the node followed by up to `replicas - 1` fallbacks (Ironic's
    /// `hash_distribution_replicas`), distinct, in takeover order.
    pub fn owners_of(
        &self,
        node_uuid: &str,
        conductor_group: &str,
        hardware_type: &str,
        replicas: usize,
    ) -> Vec<&str> {
        self.ring_for(conductor_group, hardware_type)
            .map(|r| r.get_hosts(node_uuid, replicas))
            .unwrap_or_default()
    }

    /// The ring for one (group, hardware type), if any conductor serves it.
    pub fn ring_for(&self, conductor_group: &str, hardware_type: &str) -> Option<&HashRing> {
        self.rings.get(&(conductor_group.to_owned(), hardware_type.to_owned()))
    }
}

/// Two rings are equal when built from the same conductors: placement follows.
impl PartialEq for Ring {
    fn eq(&self, other: &Self) -> bool {
        self.conductors == other.conductors && self.rings == other.rings
    }
}

impl Eq for Ring {}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn conductor(hostname: &str, group: &str, types: &[&str]) -> ConductorInfo {
        ConductorInfo {
            hostname: hostname.into(),
            conductor_group: group.into(),
            hardware_types: types.iter().map(|t| (*t).to_owned()).collect(),
            ..Default::default()
        }
    }

    /// Node UUIDs, deterministic so failures reproduce.
    fn nodes(count: usize) -> Vec<String> {
        (0..count)
            .map(|i| {
                let h = position_of(format!("node-{i}").as_bytes());
                let hex = format!("{h:032x}");
                format!("{}-{}-4{}-a{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
            })
            .collect()
    }

    fn owners(ring: &Ring, nodes: &[String]) -> HashMap<String, String> {
        nodes
            .iter()
            .map(|n| (n.clone(), ring.owner_of(n, "", "ipmi").expect("someone owns it").to_owned()))
            .collect()
    }

    fn three() -> Vec<ConductorInfo> {
        ["conductor-a", "conductor-b", "conductor-c"].iter().map(|h| conductor(h, "", &["ipmi"])).collect()
    }

    #[test]
    fn balance_is_within_bounds_for_10k_nodes() {
        let ring = Ring::new(three());
        let nodes = nodes(10_000);
        let mut counts: HashMap<String, usize> = HashMap::new();
        for owner in owners(&ring, &nodes).into_values() {
            *counts.entry(owner).or_default() += 1;
        }
        assert_eq!(counts.len(), 3, "every conductor owns some nodes: {counts:?}");
        let fair = nodes.len() / 3;
        for (host, count) in &counts {
            assert!(
                count.abs_diff(fair) * 100 <= fair * 15,
                "{host} owns {count} of {} nodes, more than 15% off the fair {fair}: {counts:?}",
                nodes.len()
            );
        }
    }

    #[test]
    fn removing_a_conductor_moves_only_its_nodes() {
        let nodes = nodes(10_000);
        let before = owners(&Ring::new(three()), &nodes);
        let survivors: Vec<ConductorInfo> =
            three().into_iter().filter(|c| c.hostname != "conductor-b").collect();
        let after = owners(&Ring::new(survivors), &nodes);
        let mut moved = 0;
        for node in &nodes {
            if before[node] == "conductor-b" {
                assert_ne!(after[node], "conductor-b");
                moved += 1;
            } else {
                assert_eq!(after[node], before[node], "{node} moved though its owner stayed");
            }
        }
        assert!(moved > 0);
        // The orphans spread over both survivors rather than piling onto one.
        let to_a = nodes.iter().filter(|n| before[*n] == "conductor-b" && after[*n] == "conductor-a").count();
        assert!(to_a * 4 > moved && to_a * 4 < moved * 3, "{to_a} of {moved} went to conductor-a");
    }

    #[test]
    fn adding_a_conductor_moves_nodes_only_to_it() {
        let nodes = nodes(2_000);
        let two: Vec<ConductorInfo> = three().into_iter().take(2).collect();
        let before = owners(&Ring::new(two), &nodes);
        let after = owners(&Ring::new(three()), &nodes);
        for node in &nodes {
            assert!(
                after[node] == before[node] || after[node] == "conductor-c",
                "{node} moved between old members"
            );
        }
    }

    #[test]
    fn placement_is_deterministic_across_instances() {
        let nodes = nodes(1_000);
        let mut reversed = three();
        reversed.reverse();
        // Another instance learns the members in another order, with its own data.
        let mut other = reversed.clone();
        other[0].address = "http://elsewhere:1".into();
        assert_eq!(owners(&Ring::new(three()), &nodes), owners(&Ring::new(other), &nodes));
        assert_eq!(Ring::new(three()), Ring::new(three()));
    }

    #[test]
    fn placement_matches_ironic() {
        // Computed with tooz's HashRing (partitions=32, as Ironic's default):
        // HashRing(["conductor-a", "conductor-b", "conductor-c"], partitions=32)
        //   .get_nodes(uuid.encode(), replicas=3)
        let ring = HashRing::new(["conductor-a", "conductor-b", "conductor-c"], 32);
        for (uuid, expected) in IRONIC_PLACEMENT {
            assert_eq!(ring.get_hosts(uuid, 3), expected, "{uuid}");
        }
    }

    /// Golden values from Python's hashlib following tooz's algorithm.
    const IRONIC_PLACEMENT: &[(&str, [&str; 3])] = &[
        ("db5b5fab-8f4d-4e27-9da1-494c73cf256d", ["conductor-c", "conductor-a", "conductor-b"]),
        ("73ab4876-7734-47c1-87fd-e805ec99108d", ["conductor-b", "conductor-c", "conductor-a"]),
        ("309d6b79-965e-4a32-9ae4-45508201e2bd", ["conductor-c", "conductor-b", "conductor-a"]),
        ("79cb9e86-830c-41c2-8dcc-69292f45e678", ["conductor-b", "conductor-a", "conductor-c"]),
        ("2fa91425-cb00-4853-9d2c-67eda13ffe79", ["conductor-a", "conductor-c", "conductor-b"]),
        ("244caf9c-4dab-4481-b253-edc618187993", ["conductor-b", "conductor-a", "conductor-c"]),
        ("986e86cb-0ab8-4b67-a26b-7f62b1852f27", ["conductor-a", "conductor-c", "conductor-b"]),
        ("73f778aa-f6fa-4db8-a56a-bd72fb710734", ["conductor-a", "conductor-b", "conductor-c"]),
        ("09208a65-0f3e-4dd3-902b-938b8743feb6", ["conductor-c", "conductor-a", "conductor-b"]),
    ];

    #[test]
    fn conductor_groups_isolate() {
        let ring = Ring::new([
            conductor("a1", "rack-a", &["ipmi"]),
            conductor("a2", "rack-a", &["ipmi"]),
            conductor("b1", "rack-b", &["ipmi"]),
            conductor("d1", "", &["ipmi"]),
        ]);
        for node in nodes(500) {
            assert!(matches!(ring.owner_of(&node, "rack-a", "ipmi"), Some("a1" | "a2")));
            assert_eq!(ring.owner_of(&node, "rack-b", "ipmi"), Some("b1"));
            assert_eq!(ring.owner_of(&node, "", "ipmi"), Some("d1"));
            assert_eq!(ring.owner_of(&node, "rack-c", "ipmi"), None, "no conductor in rack-c");
        }
    }

    #[test]
    fn only_conductors_driving_the_hardware_type_own_its_nodes() {
        let ring = Ring::new([
            conductor("both", "", &["ipmi", "redfish"]),
            conductor("ipmi-only", "", &["ipmi"]),
            conductor("none", "", &[]),
        ]);
        let mut ipmi_owners = std::collections::BTreeSet::new();
        for node in nodes(500) {
            assert_eq!(ring.owner_of(&node, "", "redfish"), Some("both"));
            assert_eq!(ring.owner_of(&node, "", "idrac"), None);
            ipmi_owners.insert(ring.owner_of(&node, "", "ipmi").expect("owned").to_owned());
        }
        assert_eq!(ipmi_owners.into_iter().collect::<Vec<_>>(), ["both", "ipmi-only"]);
        assert!(ring.contains("none"), "a conductor without hardware types is still a member");
    }

    #[test]
    fn replicas_are_distinct_and_start_with_the_owner() {
        let ring = Ring::new(three());
        for node in nodes(200) {
            let owner = ring.owner_of(&node, "", "ipmi").expect("owned");
            let replicas = ring.owners_of(&node, "", "ipmi", 5);
            assert_eq!(replicas.len(), 3, "capped at the number of conductors");
            assert_eq!(replicas[0], owner);
            let mut unique = replicas.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), 3);
            // The second replica is who takes over if the owner leaves.
            let survivors: Vec<ConductorInfo> = three().into_iter().filter(|c| c.hostname != owner).collect();
            assert_eq!(Ring::new(survivors).owner_of(&node, "", "ipmi"), Some(replicas[1]));
        }
    }

    #[test]
    fn an_empty_ring_owns_nothing() {
        let ring = Ring::default();
        assert_eq!(ring.owner_of("x", "", "ipmi"), None);
        assert!(ring.owners_of("x", "", "ipmi", 2).is_empty());
        assert!(HashRing::new(Vec::<String>::new(), 8).owner("x").is_none());
    }
}
