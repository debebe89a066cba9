import Foundation
import PackagePlugin

/// Embeds `WebApp/static/` of the target it is applied to (VideoAPI) into a generated Swift file,
/// through the WebAppEmbedder tool. Every file of the directory is an input, so editing, adding or
/// removing one regenerates the file on the next build.
@main
struct EmbedWebApp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        // Target.directoryURL needs tools version 6.1; the package's directory does not.
        let directory = context.package.directoryURL.appending(path: "Sources/\(target.name)/WebApp/static")
        var inputs: [URL] = []
        if let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles]) {
            for case let url as URL in walker { inputs.append(url) }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "WebAppAssets+Embedded.swift")
        return [
            .buildCommand(
                displayName: "Embedding the web app (\(inputs.count) files)",
                executable: try context.tool(named: "WebAppEmbedder").url,
                arguments: [directory.path, output.path],
                inputFiles: inputs + [directory],
                outputFiles: [output]),
        ]
    }
}
