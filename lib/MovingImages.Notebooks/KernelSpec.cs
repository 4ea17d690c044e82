using System.Text.Json;
using System.Text.Json.Nodes;

namespace MovingImages.Notebooks;

/// <summary>
/// The Jupyter kernelspec for our notebooks (<c>.net-csharp</c>), written by us instead of
/// <c>dotnet-interactive jupyter install</c>: that one starts the kernel with <c>--http-port-range 2048-3000</c>, and the
/// kernel then serves HTTP on every network interface. Ours starts the tool restored from the repository's tool manifest
/// (<c>.config/dotnet-tools.json</c>) by its full path — so it starts from any folder — with <c>--http-local-only</c>
/// (HTTP on loopback only).
/// </summary>
public static class KernelSpec
{
    /// <summary>The kernel's name, as our notebooks' metadata names it.</summary>
    public const string Name = ".net-csharp";

    /// <summary>Writes <c>kernels/.net-csharp/kernel.json</c> under <paramref name="jupyterDataDir"/> (use it as <c>JUPYTER_PATH</c>, or pass Jupyter's user data folder). Returns the file.</summary>
    public static string Install(string jupyterDataDir, string repositoryRoot)
    {
        string tool = ToolAssembly(repositoryRoot);
        var spec = new JsonObject
        {
            ["argv"] = new JsonArray("dotnet", tool, "jupyter", "--default-kernel", "csharp", "--http-local-only", "{connection_file}"),
            ["display_name"] = ".NET (C#)",
            ["language"] = "C#",
            ["env"] = new JsonObject { ["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1" },
        };
        string dir = Path.Combine(jupyterDataDir, "kernels", Name);
        Directory.CreateDirectory(dir);
        string file = Path.Combine(dir, "kernel.json");
        File.WriteAllText(file, spec.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return file;
    }

    /// <summary>The dotnet-interactive tool's main assembly, as <c>dotnet tool restore</c> put it in the NuGet packages folder.</summary>
    public static string ToolAssembly(string repositoryRoot)
    {
        string manifest = Path.Combine(repositoryRoot, ".config", "dotnet-tools.json");
        if (!File.Exists(manifest)) throw new FileNotFoundException($"no tool manifest at {manifest}", manifest);
        var tools = JsonNode.Parse(File.ReadAllText(manifest))?["tools"]?["microsoft.dotnet-interactive"]
                    ?? throw new InvalidDataException($"{manifest}: no 'microsoft.dotnet-interactive' tool");
        string version = tools["version"]?.GetValue<string>() ?? throw new InvalidDataException($"{manifest}: the dotnet-interactive tool has no version");
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string toolDir = Path.Combine(packages, "microsoft.dotnet-interactive", version.ToLowerInvariant(), "tools");
        var dll = Directory.Exists(toolDir)
            ? Directory.GetFiles(toolDir, "Microsoft.DotNet.Interactive.App.dll", SearchOption.AllDirectories).OrderDescending(StringComparer.Ordinal).FirstOrDefault()
            : null;
        return dll ?? throw new FileNotFoundException(
            $"the .NET Interactive kernel (dotnet-interactive {version}) is not installed: run `dotnet tool restore` in {repositoryRoot}", toolDir);
    }

    /// <summary>The repository root: the nearest folder at or above <paramref name="start"/> with <c>.config/dotnet-tools.json</c>.</summary>
    public static string? FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, ".config", "dotnet-tools.json"))) return dir.FullName;
        return null;
    }
}
