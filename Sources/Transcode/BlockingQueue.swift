import Foundation

/// A bounded FIFO between two threads: `push` blocks while full (backpressure keeps memory flat
/// whatever the duration), `pop` blocks while empty. `close()` wakes everyone: pushes then fail
/// and pops drain what is left (or nothing, after `cancel()`).
///
/// @unchecked Sendable: every access to `items`/`closed` happens with `condition` locked.
final class BlockingQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0
    private var closed = false
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// False when the queue was closed (the element is dropped).
    @discardableResult
    func push(_ element: Element) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while !closed && items.count - head >= capacity { condition.wait() }
        if closed { return false }
        items.append(element)
        condition.broadcast()
        return true
    }

    /// Nil once closed and drained.
    func pop() -> Element? {
        condition.lock(); defer { condition.unlock() }
        while !closed && items.count == head { condition.wait() }
        guard head < items.count else { return nil }
        let e = items[head]
        head += 1
        if head > 64 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        condition.broadcast()
        return e
    }

    /// No more pushes; pops still drain what is queued.
    func close() {
        condition.lock(); closed = true; condition.broadcast(); condition.unlock()
    }

    /// Close and drop everything queued (their deinit frees the frames).
    func cancel() {
        condition.lock(); closed = true; items.removeAll(); head = 0; condition.broadcast(); condition.unlock()
    }
}
