import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files the hub writes into a partner's folder, through the folder's open descriptor: each under a
/// temporary name created afresh (never through an existing file or link), then renamed into place,
/// so that a reader sees it whole or not at all, and nothing a partner plants under either name
/// sends the hub's writing elsewhere. Any thread; every call blocks briefly on the file system.
enum FolderFiles {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Opens `url` as a directory, creating it (and its parents) if it is not there. Its last
    /// component must be a directory itself, not a link to one: a partner that replaced its outbox
    /// by a link (to another partner's folder, say) gets nothing written through it.
    static func openDirectory(_ url: URL) throws -> Int32 {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        var folder = open(url.path, flags)
        if folder < 0, errno == ENOENT {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            folder = open(url.path, flags)
        }
        guard folder >= 0 else {
            throw Failure(description: "\(url.path) cannot be opened as a directory (\(String(cString: strerror(errno)))): a link or a file "
                          + "in its place is not written through")
        }
        return folder
    }

    /// Writes `data` as `name` in `folder`, replacing a file of that name (or a link: the link, not what it points to).
    static func write(_ data: Data, named name: String, in folder: Int32) throws {
        let temporary = ".\(name).\(UUID().uuidString.prefix(8))"
        let descriptor = openat(folder, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Failure(description: "\(name) cannot be created: \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let count = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return false }
                offset += count
            }
            return true
        }
        var failure = written ? nil : String(cString: strerror(errno))
        Glibc.close(descriptor)
        if failure == nil, renameat(folder, temporary, folder, name) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlinkat(folder, temporary, 0)
            throw Failure(description: "\(name) cannot be written: \(failure)")
        }
    }
}
