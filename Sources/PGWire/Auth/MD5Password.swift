import Reactor

/// PostgreSQL's legacy `md5` method: "md5" + md5hex(md5hex(password + user) + salt).
public enum MD5Password {
    public static func response(user: String, password: String, salt: [UInt8]) -> String {
        let inner = Hex.encode(Crypto.md5(Array((password + user).utf8)))
        return "md5" + Hex.encode(Crypto.md5(Array(inner.utf8) + salt))
    }
}
