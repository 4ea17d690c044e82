using System.Diagnostics;
using MovingImages.Runtime;

namespace MovingImages.Tests.Runtime;

/// <summary>
/// The build patches libLibTorchSharp.so in the output folder only when the system libstdc++ lacks GLIBCXX_3.4.32,
/// and never the NuGet cache. Checked with binutils' readelf, an independent ELF reader.
/// </summary>
public class LinuxNativeFixTests
{
    static string ReadElfVersions(string path)
    {
        var psi = new ProcessStartInfo("readelf", ["-V", "-W", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("readelf could not start");
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"readelf failed on {path}");
        return text;
    }

    static string Line(string readelf, string version) =>
        readelf.Split('\n').Single(l => l.Contains("Name: " + version, StringComparison.Ordinal));

    [Fact]
    public void Output_copy_is_patched_only_when_needed_and_the_nuget_cache_never()
    {
        if (!OperatingSystem.IsLinux()) return; // the fix is Linux-only; nothing to check elsewhere
        string output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(output), output);
        string stdcxx = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.First(File.Exists);
        bool systemHasIt = File.ReadAllText(stdcxx, System.Text.Encoding.Latin1).Contains("GLIBCXX_3.4.32\0", StringComparison.Ordinal);

        string patched = Line(ReadElfVersions(output), "GLIBCXX_3.4.32");
        if (systemHasIt) Assert.Contains("Flags: none", patched);
        else Assert.Contains("Flags: WEAK", patched);
        // every other requirement is left exactly as it was
        Assert.DoesNotContain(ReadElfVersions(output).Split('\n'), l => l.Contains("Flags: WEAK") && !l.Contains("GLIBCXX_3.4.32"));

        string home = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string cached = Path.Combine(home, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(cached), cached);
        Assert.Contains("Flags: none", Line(ReadElfVersions(cached), "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void Torch_loads_and_computes()
    {
        TorchRuntime.EnsureLoaded();
        using var a = TorchSharp.torch.tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using var b = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
        Assert.Equal("cpu", TorchRuntime.ParseDevice("cpu").type.ToString().ToLowerInvariant());
        Assert.Throws<ArgumentException>(() => TorchRuntime.ParseDevice("tpu"));
    }
}
