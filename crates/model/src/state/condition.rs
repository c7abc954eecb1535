//! Node conditions the conductor records on its own: `fault` (1.42) and `health`
//! (1.109).
//!
//! `fault` stays a string on the node, because a newer Ironic may add kinds and a
//! stored record must still load; [`Fault`] names the kinds Ironic defines today.

string_enum! {
    /// Why Ironic put a node into maintenance by itself (`ironic/common/faults.py`).
    pub enum Fault, "fault" {
        /// The power state could not be read repeatedly.
        PowerFailure => "power failure",
        /// Cleaning failed.
        CleanFailure => "clean failure",
        /// Cleaning up after a rescue abort failed.
        RescueAbortFailure => "rescue abort failure",
        /// A service operation failed.
        ServiceFailure => "service failure",
    }
}

string_enum! {
    /// Hardware health as the BMC reports it (`ironic/common/health_states.py`).
    pub enum Health, "health state" {
        /// No issues.
        Ok => "OK",
        /// Non-critical issues.
        Warning => "Warning",
        /// Critical issues.
        Critical => "Critical",
    }
}
