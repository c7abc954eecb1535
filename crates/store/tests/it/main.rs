//! The store's integration tests, in one binary to keep link time down on small
//! machines: the conformance suite (the same cases against the embedded store and a
//! real etcd), records and locks on both, and the fault tests.

mod backends;
mod conformance;
mod crash;
mod embedded_restart;
mod etcd_outage;
mod locks;
mod records;
mod views;

/// Instantiates every case of the shared suites as a test in module `$backend`
/// (`embedded::conformance::watch_from_now`, ...), each on a fresh backend made by
/// `$make`.
macro_rules! conformance_suite {
    ($backend:ident, $make:path) => {
        mod $backend {
            conformance_suite!(@module $make; conformance:
                revisions_and_versions,
                compare_and_swap,
                multi_op_txn_is_atomic,
                no_change_no_revision,
                bad_requests_are_typed,
                range_and_pagination,
                pagination_is_stable_under_writes,
                watch_from_a_revision,
                watch_from_now,
                watch_replays_long_history,
                watch_of_compacted_history_fails,
                leases_keep_alive_and_revoke,
                lease_expires_after_ttl,
                keep_alive_keeps_a_lease,
                concurrent_compare_and_swap,
            );
            conformance_suite!(@module $make; records:
                create_enforces_unique_keys,
                update_is_compare_and_swap,
                delete_frees_unique_keys,
                racing_creates_one_winner,
                list_paginates_in_id_order,
                bad_ids_and_corrupt_records,
            );
            conformance_suite!(@module $make; locks:
                exclusive_excludes_everyone_else,
                shared_holders_coexist,
                locks_die_with_their_lease,
                racing_lockers_one_winner,
            );
            conformance_suite!(@module $make; views:
                view_follows_puts_and_deletes,
                view_wait_times_out_for_a_revision_never_written,
            );
        }
    };
    (@module $make:path; $module:ident: $($case:ident),* $(,)?) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = $make().await;
                    crate::$module::$case(&backend).await;
                }
            )*
        }
    };
}

conformance_suite!(embedded, crate::backends::embedded);
conformance_suite!(etcd, crate::backends::etcd);
