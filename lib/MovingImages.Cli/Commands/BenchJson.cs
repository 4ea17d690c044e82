using System.Text.Json;
using System.Text.Json.Nodes;
using MovingImages.IO;

namespace MovingImages.Cli.Commands;

/// <summary>
/// The figures of a <c>bench</c> run as one JSON object (<c>--json FILE</c>), written atomically: numbers in the units
/// their key names (<c>_ms</c>, <c>_fps</c>, <c>samples_per_s</c>), plus the machine and settings they were taken on.
/// </summary>
internal static class BenchJson
{
    /// <summary>The <c>--json</c> option every bench command takes.</summary>
    public static System.CommandLine.Option<string?> Option() => new("--json") { Description = "also write the figures to this file as JSON (keys in README, Performance)" };

    /// <summary>A JSON object with the machine's description filled in.</summary>
    public static JsonObject Start(string bench) => new()
    {
        ["bench"] = bench,
        ["machine"] = new JsonObject
        {
            ["cpu"] = CpuModel(), ["cores"] = Environment.ProcessorCount, ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["bf16"] = Runtime.CpuFeatures.HasBFloat16, ["dotnet"] = Environment.Version.ToString(),
        },
        ["when"] = DateTimeOffset.UtcNow.ToString("O"),
    };

    /// <summary>Writes <paramref name="figures"/> to <paramref name="path"/> (when given).</summary>
    public static void Write(string? path, JsonObject figures)
    {
        if (string.IsNullOrEmpty(path)) return;
        string text = figures.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        AtomicFile.WriteText(path, text + "\n");
    }

    /// <summary>A number rounded for reading (JSON keeps it a number).</summary>
    public static double Round(double value, int digits = 2) => Math.Round(value, digits);

    static string CpuModel()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
                return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        }
        catch (IOException) { }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }
}
