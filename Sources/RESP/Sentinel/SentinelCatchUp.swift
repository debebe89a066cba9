/// The `+switch-master` watcher's catch-up after it (re)subscribes to a sentinel, without I/O.
///
/// A switch announced while no sentinel was subscribed is caught up with by asking the sentinel
/// for the master once subscribed. But a sentinel that has not seen the failover yet (it was down
/// or partitioned meanwhile) names the old master, by then a replica: moving there at once would
/// close good connections to the real master. So an address other than the current master is
/// moved to only once the server there calls itself the master (HELLO's `role`, or ROLE) — the
/// same check `SentinelDiscovery` makes of a new connection.
///
///     var catchUp = SentinelCatchUp(currentMaster: master)
///     if case .checkRole(let address) = catchUp.named(reply to SENTINEL GET-MASTER-ADDR-BY-NAME) {
///         connect there, read the role                        (unreachable: stay)
///         if case .move(let address) = catchUp.role(role) { move }
///     }
public struct SentinelCatchUp: Sendable {
    public typealias Address = RESPSentinelAddress

    public enum Step: Sendable, Equatable {
        /// Nothing to do: the sentinel names the current master, or nothing usable.
        case stay
        /// Connect to this address and read its role before moving.
        case checkRole(Address)
        /// It is the master: move to it (close the connections to the old one).
        case move(Address)
    }

    /// The master the client uses now (nil before any: nothing to leave, nothing to catch up with).
    public let currentMaster: Address?
    /// The address a sentinel named that awaits its role check.
    public private(set) var candidate: Address?

    public init(currentMaster: Address?) {
        self.currentMaster = currentMaster
    }

    /// The sentinel's reply to `SENTINEL GET-MASTER-ADDR-BY-NAME name`.
    public mutating func named(_ reply: RESPValue) -> Step {
        guard let currentMaster, case .success(let address?) = SentinelDiscovery.masterAddress(in: reply),
              address != currentMaster else { return .stay }
        candidate = address
        return .checkRole(address)
    }

    /// The role the candidate reported (nil: unknown, or it could not be asked).
    public func role(_ role: String?) -> Step {
        guard let candidate, role == "master" else { return .stay }
        return .move(candidate)
    }
}
