using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace MovingImages.Tests.Video;

/// <summary>Tests that measure the machine (memory): run alone, after the parallel tests, so others do not move the numbers.</summary>
[CollectionDefinition(nameof(Quiet), DisableParallelization = true)]
public sealed class Quiet;

[Collection(nameof(Quiet))]
public class MemoryTests(ITestOutputHelper output)
{
    static string Video(string name) => TestData.Shared("data", "video", name);

    [Fact]
    public void Memory_stays_flat_over_500_frames()
    {
        // Its own process, so that other tests running beside it do not move the numbers.
        var (_, _, weights) = SyntheticModels.Get("yolov3-tiny.cfg");
        var dir = TestData.NewTempDir("rss");
        string stats = Path.Combine(dir, "stats.json");
        var cli = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "MovingImages.Cli.exe" : "MovingImages.Cli");
        var psi = new ProcessStartInfo(cli, ["locate", Video("vtest.avi"), "--cfg", TestData.Cfg("yolov3-tiny.cfg"), "--weights", weights,
            "--size", "320", "--max-frames", "620", "--out", Path.Combine(dir, "out.mp4"), "--stats", stats, "--threads", "2"])
        { RedirectStandardError = true, RedirectStandardOutput = true };
        // A small gen-0 budget (4 MB) keeps the .NET heap from growing into its default budget during the measurement,
        // which moves RSS by 10–20 MB without any leak; what this test is after is native memory (tensors, Mats).
        psi.Environment["DOTNET_GCgen0size"] = "0x400000";
        using (var p = Process.Start(psi)!)
        {
            var err = p.StandardError.ReadToEndAsync();
            _ = p.StandardOutput.ReadToEndAsync();
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(5)), "the run did not finish in 5 minutes");
            Assert.True(p.ExitCode == 0, err.Result);
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(stats));
        var samples = doc.RootElement.GetProperty("memory").EnumerateArray()
            .Select(m => (Frame: m.GetProperty("frame").GetInt32(), Rss: m.GetProperty("rss_bytes").GetInt64())).ToArray();
        // After warm-up (100 frames): frames 100–250 against frames 500–620, 400–500 frames later. The pipeline trims the
        // C heap every 100 frames; between trims, allocators hold freed blocks for a while (plateaus that come and go: one
        // sample can sit 20 MB high), and a sample right after a trim can dip low (one early dip once made a 9 % "growth").
        // So two estimates of each window: its floor (blind to plateaus) and its median (blind to one dip). A leak raises
        // every sample for good, so both grow; noise moves one of them. The growth is the smaller of the two.
        static double Median(IEnumerable<double> xs) { var a = xs.Order().ToArray(); return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2; }
        var early = samples.Where(s => s.Frame is >= 100 and <= 250).Select(s => (double)s.Rss).ToArray();
        var late = samples.Where(s => s.Frame is >= 500 and <= 620).Select(s => (double)s.Rss).ToArray();
        Assert.True(early.Length >= 4 && late.Length >= 4, $"too few memory samples: {early.Length} early, {late.Length} late");
        double floorGrowth = (late.Min() - early.Min()) / early.Min(), medianGrowth = (Median(late) - Median(early)) / Median(early);
        output.WriteLine(string.Join(" ", samples.Select(s => $"{s.Frame}:{s.Rss / 1048576}MB")));
        output.WriteLine($"RSS frames 100–250 → 500–620: floor {early.Min() / 1048576:0} → {late.Min() / 1048576:0} MB ({floorGrowth:P1}), " +
                         $"median {Median(early) / 1048576:0} → {Median(late) / 1048576:0} MB ({medianGrowth:P1})");
        Assert.True(Math.Min(floorGrowth, medianGrowth) < 0.05, $"RSS grew over 400 frames: floor {floorGrowth:P1}, median {medianGrowth:P1}");
    }
}
