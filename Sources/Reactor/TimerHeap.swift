/// Identifies a scheduled timer so it can be cancelled.
public struct TimerHandle: Sendable, Hashable {
    let id: UInt64
}

/// A binary min-heap of deadlines. Cancelled timers are dropped lazily: the callback is removed
/// from `callbacks` at once and its heap entry is skipped when it surfaces.
struct TimerHeap {
    private var heap: [(deadline: UInt64, id: UInt64)] = []
    private var callbacks: [UInt64: @Sendable () -> Void] = [:]
    private var nextID: UInt64 = 1

    var isEmpty: Bool { callbacks.isEmpty }

    mutating func schedule(at deadline: UInt64, _ body: @escaping @Sendable () -> Void) -> TimerHandle {
        let id = nextID
        nextID += 1
        callbacks[id] = body
        heap.append((deadline, id))
        siftUp(heap.count - 1)
        return TimerHandle(id: id)
    }

    /// Returns true when the timer was still pending.
    @discardableResult
    mutating func cancel(_ handle: TimerHandle) -> Bool {
        callbacks.removeValue(forKey: handle.id) != nil
    }

    /// The earliest live deadline, dropping cancelled entries on the way.
    mutating func nextDeadline() -> UInt64? {
        while let top = heap.first {
            if callbacks[top.id] != nil { return top.deadline }
            popTop()
        }
        return nil
    }

    /// Removes and returns every callback due at `now`, earliest first.
    mutating func popDue(now: UInt64) -> [@Sendable () -> Void] {
        var due: [@Sendable () -> Void] = []
        while let top = heap.first, top.deadline <= now {
            popTop()
            if let cb = callbacks.removeValue(forKey: top.id) { due.append(cb) }
        }
        return due
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
    }

    private mutating func siftUp(_ index: Int) {
        var i = index
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[parent].deadline <= heap[i].deadline { break }
            heap.swapAt(parent, i)
            i = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var i = index
        let n = heap.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < n && heap[l].deadline < heap[smallest].deadline { smallest = l }
            if r < n && heap[r].deadline < heap[smallest].deadline { smallest = r }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
