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
        // After warm-up (100 frames): the floor of frames 100–250 against the floor of frames 500–620, 400–500 frames later.
        // The pipeline trims the C heap every 100 frames, so each window holds two samples taken right after a trim
        // (frames 101, 201 and 501, 601); between trims, allocators hold freed blocks for a while (plateaus that come and
        // go, and one post-trim sample can sit 20 MB high), while a leak raises every floor for good.
        double early = samples.Where(s => s.Frame is >= 100 and <= 250).Min(s => s.Rss);
        double late = samples.Where(s => s.Frame is >= 500 and <= 620).Min(s => s.Rss);
        output.WriteLine(string.Join(" ", samples.Select(s => $"{s.Frame}:{s.Rss / 1048576}MB")));
        output.WriteLine($"RSS floor frames 100–250: {early / 1048576:0} MB, frames 500–620: {late / 1048576:0} MB, growth {(late - early) / early:P1}");
        Assert.True((late - early) / early < 0.05, $"RSS grew {(late - early) / early:P1} over 400 frames");
    }
}
