/// Text from outside (a client's request, a webhook receiver's failure) echoed in a message or
/// kept in a record: bounded, so a hostile or broken peer cannot make either huge.
package enum RequestText {
    package static func shown(_ s: String, limit: Int = 100) -> String {
        s.count > limit ? String(s.prefix(limit)) + "…" : s
    }
}
