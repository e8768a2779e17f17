import Foundation

/// The files of one version of the matrix, by path relative to the matrix directory
/// (`sharing-matrix.yaml`, `legal-bases.yaml`, `organisations.yaml`, `municipalities.yaml`, `chain-cases.yaml`, `regions/*.yaml`, the
/// definitions in `purposes.yaml` and `disclosure-levels.yaml`, and the officers' `invariants.yaml`
/// and `scenarios/*.yaml`): what a privacy
/// officer proposes, what the version store keeps, and what the loader reads.
public struct MatrixBundle: Sendable, Hashable, Codable {
    public var files: [String: String]

    public init(files: [String: String]) { self.files = files }

    /// The matrix as it lies in a directory (`Contracts/matrix` in the repository).
    public init(directory: URL) throws {
        var files: [String: String] = [:]
        for file in [MatrixLoader.organisationsFile, MatrixLoader.legalBasesFile, MatrixLoader.matrixFile] {
            let url = directory.appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw MatrixLoader.LoadError.unreadable(file, "cannot read \(url.path)")
            }
            files[file] = String(decoding: data, as: UTF8.self)
        }
        for file in [MatrixLoader.invariantsFile, MatrixLoader.purposesFile, MatrixLoader.disclosureLevelsFile, MatrixLoader.municipalitiesFile,
                     MatrixLoader.chainCasesFile] {
            if let data = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path) {
                files[file] = String(decoding: data, as: UTF8.self)
            }
        }
        // Every YAML file beside them and in the two folders is taken too, so that one no part of the
        // matrix reads (`regions/utrecht.yml`, `sharing_matrix.yaml`) is a finding rather than ignored.
        for folder in ["", MatrixLoader.regionsDirectory, MatrixLoader.scenariosDirectory] {
            let url = folder.isEmpty ? directory : directory.appendingPathComponent(folder)
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []) where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                let path = folder.isEmpty ? name : "\(folder)/\(name)"
                if files[path] == nil, let data = FileManager.default.contents(atPath: url.appendingPathComponent(name).path) {
                    files[path] = String(decoding: data, as: UTF8.self)
                }
            }
        }
        self.files = files
    }
}
