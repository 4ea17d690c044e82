using System.Text.RegularExpressions;
using MovingImages.Tests.FaceAnalysis;
using MovingImages.Tests.Notebooks;

namespace MovingImages.Tests.Runtime;

/// <summary>
/// <c>movingimages soak</c> at CI size: YOLO, the four face networks, fp32 and bf16 training and conversion in one process,
/// under a thread that forces full collections and finalizers in a loop — in a process of its own, so a native abort
/// fails the test instead of the test host. (Full size: <c>movingimages soak --seconds 600</c>.)
/// </summary>
public class SoakTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Every_TorchSharp_path_under_GC_pressure_runs_without_aborts_or_non_finite_values()
    {
        var (code, stdout, stderr) = CliProcess.Run(["soak", "--seconds", "20", "--cfg", TestData.Cfg("yolov3-tiny.cfg"),
            "--video", TestData.Shared("data", "video", "vtest.avi"), "--scene", TestData.Shared("data", "video", "Megamind.avi"),
            "--faces", FaceModels.Directory], TimeSpan.FromMinutes(5));
        output.WriteLine(stdout + stderr);
        Assert.True(code == 0, $"exit {code} (134: a native abort; 1: non-finite values)\n{stdout}\n{stderr}");
        var m = Regex.Match(stdout, @"soak: (\d+) rounds in \d+ s — (\d+) detector frames, (\d+) face-network frames, (\d+) training steps \(fp32 \+ bf16\), (\d+) converted frames, (\d+) forced collections; peak working set \d+ MB; 0 non-finite results");
        Assert.True(m.Success, stdout);
        Assert.All(Enumerable.Range(1, 6), i => Assert.True(int.Parse(m.Groups[i].Value) > 0, $"part {i} of the soak never ran: {stdout}"));
    }

    [Fact]
    public void The_duration_counts_the_rounds_not_the_loading_so_every_part_runs_at_least_once()
    {
        // a duration shorter than loading takes (on a busy machine loading took more than the CI soak's 20 s): one round still runs
        var options = new MovingImages.Diagnostics.SoakOptions(TestData.Cfg("yolov3-tiny.cfg"), null, TestData.Shared("data", "video", "vtest.avi"),
            TestData.Shared("data", "video", "Megamind.avi"), FaceModels: null, Duration: TimeSpan.FromMilliseconds(1), GcPressure: false);
        var report = MovingImages.Diagnostics.Soak.Run(options);
        output.WriteLine(report.ToString());
        Assert.Equal(1, report.Rounds);
        Assert.True(report.DetectorFrames > 0 && report.TrainingSteps > 0, report.ToString());
        Assert.True(report.Healthy, report.ToString());
    }
}
