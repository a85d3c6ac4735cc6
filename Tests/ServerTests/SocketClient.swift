import Foundation
import LedgerTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal HTTP/1.1 client over a loopback TCP socket, for the tests that talk to a real `ledger serve`:
/// one request per connection (`Connection: close`), or a streamed response read line by line (SSE).
final class SocketClient {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket: \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // No close here: a throwing init of a class whose properties are set still runs deinit, which closes it;
        // closing twice would close whatever descriptor another thread opened meanwhile.
        guard connected == 0 else { throw SocketError("connect to port \(port): errno \(errno)") }
    }

    deinit { if fd >= 0 { close(fd) } }

    func send(_ method: String, _ path: String, headers: [String: String] = [:], body: String? = nil) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((body ?? "").utf8)
        head += "Content-Length: \(bytes.count)\r\n\r\n"
        let all = Array(head.utf8) + bytes
        var sent = 0
        while sent < all.count {
            let n = all[sent...].withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw SocketError("send: errno \(errno)") }
            sent += n
        }
    }

    /// The next line (without CR LF), or nil at the end of the stream.
    func line() throws -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0 { return buffer.isEmpty ? nil : String(decoding: buffer.splice(), as: UTF8.self) }
            guard n > 0 else { throw SocketError("recv: errno \(errno) (a timeout is errno 11)") }
            buffer += chunk[..<n]
        }
    }

    /// The status line's code and the headers, leaving the body to read.
    func head() throws -> (status: Int, headers: [String: String]) {
        guard let statusLine = try line(), let code = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            throw SocketError("no status line")
        }
        var headers: [String: String] = [:]
        while let header = try line(), !header.isEmpty {
            if let colon = header.firstIndex(of: ":") {
                headers[header[..<colon].lowercased()] = header[header.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
        }
        return (code, headers)
    }

    /// Sends a request and reads the whole response.
    static func request(
        port: Int, _ method: String, _ path: String, token: String? = nil, headers: [String: String] = [:], body: String? = nil
    ) throws -> (status: Int, body: String) {
        let client = try SocketClient(port: port)
        var all = headers
        if let token { all["Authorization"] = "Bearer \(token)" }
        try client.send(method, path, headers: all, body: body)
        let (status, responseHeaders) = try client.head()
        var text = ""
        if let length = responseHeaders["content-length"].flatMap(Int.init) {
            while text.utf8.count < length, let line = try client.line() { text += line + "\n" }
        } else {
            while let line = try client.line() { text += line + "\n" }
        }
        return (status, text)
    }

    /// Reads server-sent events until `count` are read or the stream ends: (id, data) pairs.
    func events(count: Int) throws -> [(id: UInt64, data: String)] {
        var events: [(id: UInt64, data: String)] = []
        var id: UInt64?
        var data = ""
        while events.count < count, let line = try line() {
            if line.hasPrefix("id: ") { id = UInt64(line.dropFirst(4)) }
            if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            if line.isEmpty, let current = id {
                events.append((current, data))
                id = nil
            }
        }
        return events
    }
}

struct SocketError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Array {
    fileprivate mutating func splice() -> [Element] {
        defer { removeAll() }
        return self
    }
}

/// A `ledger serve` child on a free loopback port, stopped (SIGKILL unless already gone) when released.
final class ServerProcess {
    let process = Process()
    let port: Int

    init(directory: String) throws {
        process.environment = childEnvironment()
        process.executableURL = productsDirectory().appendingPathComponent("ledger")
        process.arguments = ["serve", "--data-dir", directory, "--port", "0"]
        let stdout = Pipe()
        process.standardOutput = stdout
        // The server logs a line per request: read and dropped, or the pipe would fill and stall the server. (A
        // FileHandle of /dev/null would be closed twice, by Process and by its own deinit, racing other tests' fds.)
        let errors = Pipe()
        process.standardError = errors
        Thread { while !errors.fileHandleForReading.availableData.isEmpty {} }.start()
        try process.run()
        // The first line names the URL with the port the kernel chose.
        var line = [UInt8]()
        while true {
            let byte = try stdout.fileHandleForReading.read(upToCount: 1) ?? Data()
            guard let first = byte.first else { throw SocketError("ledger serve exited before listening") }
            if first == 0x0A { break }
            line.append(first)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...].dropLast()) else {
            throw SocketError("unexpected first line: \(text)")
        }
        self.port = port
    }

    func kill(_ signal: Int32) { Glibc.kill(process.processIdentifier, signal) }

    /// Waits for the process to exit and returns its status; a server still running after 30 s is killed
    /// and reported as -1, so that a shutdown that hangs fails the test instead of stalling the run.
    func wait() -> Int32 {
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -1
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
