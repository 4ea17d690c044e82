using System.Text.Json;
using System.Text.Json.Nodes;

namespace MovingImages.Notebooks;

/// <summary>
/// The Jupyter kernelspec for our notebooks (<c>.net-csharp</c>), written by us instead of
/// <c>dotnet-interactive jupyter install</c>: that one starts the kernel with <c>--http-port-range 2048-3000</c>, and the
/// kernel then serves HTTP on every network interface. Ours starts the tool restored from the repository's tool manifest
/// (<c>.config/dotnet-tools.json</c>) by its full path — so it starts from any folder — with <c>--http-local-only</c>
/// (HTTP on loopback only). On Linux and macOS it starts the kernel through a small launcher (<see cref="Launcher"/>)
/// that turns Jupyter's interrupt into "stop the running cell" instead of the kernel's shutdown.
/// </summary>
public static class KernelSpec
{
    /// <summary>The kernel's name, as our notebooks' metadata names it.</summary>
    public const string Name = ".net-csharp";

    /// <summary>Writes <c>kernels/.net-csharp/kernel.json</c> under <paramref name="jupyterDataDir"/> (use it as <c>JUPYTER_PATH</c>, or pass Jupyter's user data folder). Returns the file.</summary>
    public static string Install(string jupyterDataDir, string repositoryRoot)
    {
        string tool = ToolAssembly(repositoryRoot);
        string dir = Path.Combine(jupyterDataDir, "kernels", Name);
        Directory.CreateDirectory(dir);
        var argv = new JsonArray();
        if (!OperatingSystem.IsWindows())
        {
            string launcher = Path.Combine(dir, "launch.sh");
            File.WriteAllText(launcher, Launcher);
            argv.Add("/bin/sh");
            argv.Add(launcher);
        }
        foreach (string arg in new[] { "dotnet", tool, "jupyter", "--default-kernel", "csharp", "--http-local-only", "{connection_file}" }) argv.Add(arg);
        var spec = new JsonObject
        {
            ["argv"] = argv,
            ["display_name"] = ".NET (C#)",
            ["language"] = "C#",
            ["interrupt_mode"] = "signal",
            ["env"] = new JsonObject { ["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1" },
        };
        string file = Path.Combine(dir, "kernel.json");
        File.WriteAllText(file, spec.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return file;
    }

    /// <summary>
    /// The kernel's launcher (POSIX sh). Jupyter interrupts a kernel by sending SIGINT to its process group; the
    /// dotnet-interactive host stops on SIGINT, and the kernel with everything the notebook loaded and trained is lost.
    /// The launcher starts the kernel with SIGINT ignored (.NET keeps an inherited "ignore") and relays each SIGINT as
    /// SIGWINCH, which MovingImages.Interactive takes as <c>Cell.Interrupt()</c> once a notebook has loaded it
    /// (<c>MOVINGIMAGES_INTERRUPT_SIGNAL</c> tells it so; SIGWINCH is ignored by default, so an early interrupt is harmless).
    /// Termination signals are passed on; the launcher exits with the kernel's status.
    /// </summary>
    public const string Launcher = """
        #!/bin/sh
        # Starts the .NET Interactive kernel for Jupyter (written by `movingimages notebook kernelspec`).
        # Jupyter's interrupt (SIGINT to the kernel's process group) would stop the dotnet-interactive host; the kernel
        # runs with SIGINT ignored instead, and each SIGINT reaches it as SIGWINCH: "stop the running cell".
        # usage: launch.sh COMMAND [ARGUMENT]...
        MOVINGIMAGES_INTERRUPT_SIGNAL=SIGWINCH
        export MOVINGIMAGES_INTERRUPT_SIGNAL
        trap '' INT
        "$@" &
        kernel=$!
        trap 'kill -WINCH "$kernel" 2>/dev/null' INT
        trap 'kill -TERM "$kernel" 2>/dev/null' TERM HUP
        while :; do
            wait "$kernel"
            status=$?
            kill -0 "$kernel" 2>/dev/null || exit "$status"
        done

        """;

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
