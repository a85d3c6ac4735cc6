import Foundation
import LedgerTestSupport

/// What the recorder (Tests/PowerCut/powercut.c, loaded with `LD_PRELOAD`) saw reach the ledger's `data.mdb`, in the
/// order the calls completed.
struct PowerCutLog {
    enum Record: Equatable {
        /// `bytes` written at `offset`; `durable` when the descriptor was opened O_DSYNC or O_SYNC (the write is on
        /// stable storage when it returns, without a later sync).
        case write(offset: Int, bytes: Data, durable: Bool)
        /// An fsync or fdatasync: the first `covering` records (every write completed when it began) are on stable
        /// storage.
        case sync(covering: Int)
        case truncate(size: Int)
        /// A writable shared map of the file: writes through it are invisible to the recorder.
        case writableMap
    }

    let records: [Record]

    /// Reads the log; a last record the kill cut short is left out (its call had not returned).
    init(contentsOf path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var records: [Record] = []
        var at = data.startIndex
        let headerSize = 24
        while data.endIndex - at >= headerSize {
            func field<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
                var value: T = 0
                withUnsafeMutableBytes(of: &value) {
                    _ = data.copyBytes(to: $0, from: (at + offset)..<(at + offset + T.bitWidth / 8))
                }
                return T(littleEndian: value)
            }
            let kind = field(0, UInt32.self)
            let durable = field(4, UInt32.self) != 0
            let offset = Int(field(8, Int64.self))
            let length = Int(field(16, Int64.self))
            let body = at + headerSize
            guard length >= 0, data.endIndex - body >= length else { break }
            switch UInt8(truncatingIfNeeded: kind) {
            case UInt8(ascii: "W"): records.append(.write(offset: offset, bytes: data[body..<(body + length)], durable: durable))
            case UInt8(ascii: "S"): records.append(.sync(covering: offset))
            case UInt8(ascii: "T"): records.append(.truncate(size: offset))
            case UInt8(ascii: "M"): records.append(.writableMap)
            default: throw PowerCutError("\(path): unknown record kind \(kind) at byte \(at - data.startIndex)")
            }
            at = body + length
        }
        self.records = records
    }

    var writes: Int { records.count(where: { if case .write = $0 { true } else { false } }) }
    var syncs: Int { records.count(where: { if case .sync = $0 { true } else { false } }) }
    var durableWrites: Int { records.count(where: { if case .write(_, _, true) = $0 { true } else { false } }) }

    /// The records a power cut may lose: the writes and truncations no sync covers, but for the writes durable by
    /// themselves.
    var unsynced: [Int] {
        let covered = records.reduce(0) { if case .sync(let covering) = $1 { max($0, covering) } else { $0 } }
        return records.indices.filter { index in
            switch records[index] {
            case .write(_, _, let durable): index >= covered && !durable
            case .truncate: index >= covered
            case .sync, .writableMap: false
            }
        }
    }

    /// The file a power cut would have left: `initial`, then every record in order, those `cut` hits lost or torn.
    /// Bytes never written read as zeros, as a file's holes do.
    func image(from initial: Data, after cut: PowerCut) -> Data {
        var file = [UInt8](initial)
        for (index, record) in records.enumerated() {
            let fate = cut.fates[index] ?? .kept
            switch record {
            case .write(let offset, let bytes, _):
                let kept = fate == .lost ? 0 : fate.keptBytes ?? bytes.count
                guard kept > 0 else { continue }
                if file.count < offset + kept { file += [UInt8](repeating: 0, count: offset + kept - file.count) }
                file.replaceSubrange(offset..<(offset + kept), with: bytes.prefix(kept))
            case .truncate(let size) where fate == .kept:
                if size < file.count {
                    file.removeLast(file.count - size)
                } else {
                    file += [UInt8](repeating: 0, count: size - file.count)
                }
            case .sync, .truncate, .writableMap:
                continue
            }
        }
        return Data(file)
    }
}

/// What became of one unsynced write when the power went.
enum WriteFate: Equatable {
    case kept, lost
    /// Only its first `keptBytes` reached the disk (a whole number of sectors).
    case torn(keptBytes: Int)

    var keptBytes: Int? { if case .torn(let kept) = self { kept } else { nil } }
}

/// One simulated power cut: the fate of each write the last sync did not cover.
struct PowerCut: CustomStringConvertible {
    let description: String
    /// By index in ``PowerCutLog/records``; a record not named is kept.
    let fates: [Int: WriteFate]

    /// Disks write whole sectors: a torn write keeps a whole number of them. LMDB relies on it for its meta page
    /// (120 bytes, no checksum), which never straddles one.
    static let sectorSize = 512

    /// Everything after the last sync is lost (what a disk with a volatile cache may do).
    static func allLost(_ log: PowerCutLog) -> PowerCut {
        PowerCut(
            description: "every unsynced write lost", fates: Dictionary(uniqueKeysWithValues: log.unsynced.map { ($0, .lost) }))
    }

    /// Everything reached the disk: the same file as the killed process left in the page cache.
    static func allKept(_ log: PowerCutLog) -> PowerCut { PowerCut(description: "every unsynced write kept", fates: [:]) }

    /// Each unsynced write kept, lost or torn after a random number of sectors, from `seed` (printed, to replay it).
    static func random(_ log: PowerCutLog, seed: UInt64) -> PowerCut {
        var generator = SeededRandom(seed: seed)
        var fates: [Int: WriteFate] = [:]
        for index in log.unsynced {
            var sectors = 1
            if case .write(_, let bytes, _) = log.records[index] {
                sectors = (bytes.count + sectorSize - 1) / sectorSize
            }
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: fates[index] = .kept
            case 1 where sectors > 1: fates[index] = .torn(keptBytes: sectorSize * Int.random(in: 1..<sectors, using: &generator))
            default: fates[index] = .lost
            }
        }
        return PowerCut(description: "random unsynced writes lost or torn (seed \(seed))", fates: fates)
    }

    /// How many records it loses or tears.
    var dropped: Int { fates.values.count(where: { $0 != .kept }) }
}

struct PowerCutError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The recorder, compiled once per test run with the toolchain's clang next to the built products.
enum PowerCutShim {
    static let built: Result<String, PowerCutError> = build()

    static func path() throws -> String { try built.get() }

    private static func build() -> Result<String, PowerCutError> {
        let source = packageRoot() + "/Tests/PowerCut/powercut.c"
        let library = productsDirectory().appendingPathComponent("powercut.so").path
        let candidates = ["/opt/swift/usr/bin/clang", "/usr/bin/clang", "/usr/bin/cc"]
        guard let compiler = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .failure(PowerCutError("no C compiler to build \(source) (looked for \(candidates.joined(separator: ", ")))"))
        }
        // Built under another name and renamed: a half-written library is never loaded.
        let partial = library + ".\(getpid())"
        do {
            let result = try runExecutable(
                compiler, ["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", partial, source, "-ldl"])
            guard result.status == 0 else { return .failure(PowerCutError("\(compiler) \(source): \(result.stderr)")) }
            guard rename(partial, library) == 0 else { return .failure(PowerCutError("rename \(partial): errno \(errno)")) }
            return .success(library)
        } catch {
            return .failure(PowerCutError("\(compiler): \(error)"))
        }
    }
}
