using MovingImages.Darknet;
using MovingImages.Imaging;
using OpenCvSharp;
using TorchSharp;

namespace MovingImages.Tests;

/// <summary>Where test inputs live: ../shared beside the checkout (or MOVINGIMAGES_SHARED), and a temp folder per run.</summary>
public static class TestData
{
    static readonly Lazy<string> SharedDir = new(() =>
    {
        var env = Environment.GetEnvironmentVariable("MOVINGIMAGES_SHARED");
        if (!string.IsNullOrEmpty(env)) return Path.GetFullPath(env);
        var root = RepoRoot;
        var shared = Path.GetFullPath(Path.Combine(root, "..", "shared"));
        if (!Directory.Exists(shared))
            throw new DirectoryNotFoundException($"Test inputs not found: expected {shared} (the shared/ folder beside the checkout) or MOVINGIMAGES_SHARED");
        return shared;
    });

    /// <summary>The repository root (the folder holding MovingImages.slnx).</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "MovingImages.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new DirectoryNotFoundException("MovingImages.slnx not found above " + AppContext.BaseDirectory);
        }
    }

    public static string Shared(params string[] parts) => Path.Combine([SharedDir.Value, .. parts]);
    public static string Cfg(string name) => Shared("darknet", name);
    public static string Image(string name) => Shared("data", "images", name);
    public static string CocoNames => Shared("darknet", "coco.names");

    static readonly Lazy<string> TempRoot = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), $"movingimages-tests-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        return dir;
    });

    /// <summary>
    /// <paramref name="start"/> made to begin with SIGINT at its default disposition, whatever this process inherited:
    /// a test run started in the background by a shell without job control (<c>nohup … &amp;</c>, some CI runners) ignores
    /// SIGINT, an ignored signal stays ignored across exec, and .NET and Python then never see Ctrl+C — the interrupt tests
    /// would fail as if cancellation were broken, or pass without testing it. GNU env's <c>--default-signal=INT</c> resets
    /// it and execs the program (same process id). <paramref name="start"/> must pass its arguments as a list.
    /// </summary>
    public static System.Diagnostics.ProcessStartInfo WithDefaultSigInt(System.Diagnostics.ProcessStartInfo start)
    {
        if (!OperatingSystem.IsLinux()) return start;
        if (start.Arguments.Length > 0) throw new ArgumentException("pass the arguments through ArgumentList");
        Assert.True(EnvResetsSignals.Value, "/usr/bin/env cannot reset signals (--default-signal needs GNU coreutils 8.31 or later)");
        start.ArgumentList.Insert(0, start.FileName);
        start.ArgumentList.Insert(0, "--default-signal=INT");
        start.FileName = "/usr/bin/env";
        return start;
    }

    static readonly Lazy<bool> EnvResetsSignals = new(() =>
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/env", ["--default-signal=INT", "true"])
            { RedirectStandardError = true });
        p?.WaitForExit();
        return p?.ExitCode == 0;
    });

    /// <summary>The signals <paramref name="pid"/> ignores (the SigIgn mask of /proc/PID/status; bit n−1 is signal n).</summary>
    public static ulong IgnoredSignals(string pid = "self")
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16);
    }

    /// <summary>A fresh empty folder for one test.</summary>
    public static string NewTempDir(string name)
    {
        var dir = Path.Combine(TempRoot.Value, $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>
/// Synthetic weights for yolov3-tiny and yolov3, generated once per test run (calibrated on dog.jpg and horses.jpg)
/// and written with the writer.
/// </summary>
public static class SyntheticModels
{
    public const int Size = 416;
    static readonly Dictionary<string, Lazy<(DarknetConfig Config, DarknetWeights Weights, string Path)>> Cache = new();
    static readonly Lock Gate = new();

    public static (DarknetConfig Config, DarknetWeights Weights, string Path) Get(string cfgName)
    {
        Lazy<(DarknetConfig, DarknetWeights, string)> lazy;
        lock (Gate)
        {
            if (!Cache.TryGetValue(cfgName, out lazy!))
                Cache[cfgName] = lazy = new Lazy<(DarknetConfig, DarknetWeights, string)>(() => Make(cfgName));
        }
        return lazy.Value;
    }

    /// <summary>
    /// A weights folder as <c>movingimages fetch</c> leaves it for <paramref name="model"/>: its cfg, coco.names and (unless
    /// <paramref name="withWeights"/> is false) the synthetic weights under the real file's name — what the notebooks'
    /// <c>weightsFolder</c> parameter points at.
    /// </summary>
    public static string Folder(string model, bool withWeights = true)
    {
        string dir = TestData.NewTempDir("weights-folder");
        File.Copy(TestData.Cfg(model + ".cfg"), Path.Combine(dir, model + ".cfg"));
        File.Copy(TestData.CocoNames, Path.Combine(dir, "coco.names"));
        if (withWeights) File.CreateSymbolicLink(Path.Combine(dir, model + ".weights"), Get(model + ".cfg").Path);
        return dir;
    }

    static (DarknetConfig, DarknetWeights, string) Make(string cfgName)
    {
        var config = DarknetConfig.Load(TestData.Cfg(cfgName));
        using var dog = ImageFiles.Read(TestData.Image("dog.jpg"));
        using var horses = ImageFiles.Read(TestData.Image("horses.jpg"));
        var (input, _) = ImageTensor.LetterboxBatch([dog, horses], Size);
        using (input)
        {
            var weights = SyntheticWeights.Generate(config, input, new SyntheticWeightsOptions(Seed: 7));
            var path = Path.Combine(TestData.NewTempDir("weights"), Path.ChangeExtension(cfgName, ".weights"));
            DarknetWeightsFile.Write(path, weights, config);
            return (config, weights, path);
        }
    }
}
