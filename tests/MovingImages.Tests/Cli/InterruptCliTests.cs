using System.Diagnostics;
using System.Runtime.InteropServices;
using MovingImages.FaceSwap;
using MovingImages.Imaging;
using MovingImages.Tests.FaceSwap;
using OpenCvSharp;
using Xunit.Abstractions;

namespace MovingImages.Tests.Cli;

/// <summary>Ctrl+C (SIGINT) sent to real child processes: outputs finished, nothing the user had is lost.</summary>
public class InterruptCliTests(ITestOutputHelper output)
{
    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);

    static string Cli => Path.Combine(AppContext.BaseDirectory, "MovingImages.Cli");

    static int FrameCount(string video)
    {
        using var capture = new VideoCapture(video);
        int n = 0;
        using var frame = new Mat();
        while (capture.Read(frame) && !frame.Empty()) n++;
        return n;
    }

    [Fact]
    public void Ctrl_C_during_a_video_keeps_the_earlier_complete_output_and_writes_a_playable_partial_beside_it()
    {
        var dir = TestData.NewTempDir("ctrl-c");
        string target = Path.Combine(dir, "street.mp4");
        var (_, _, weights) = SyntheticModels.Get("yolov3-tiny.cfg");
        string[] common = ["locate", TestData.Shared("data", "video", "vtest.avi"), "--cfg", TestData.Cfg("yolov3-tiny.cfg"), "--weights", weights,
            "--names", TestData.CocoNames, "--out", target, "--size", "320"];

        // yesterday's finished run
        var (code, _, err) = Notebooks.CliProcess.Run([.. common, "--max-frames", "6"], TimeSpan.FromMinutes(2));
        Assert.True(code == 0, err);
        byte[] earlier = File.ReadAllBytes(target);
        // a temp file a killed run left behind (its process is gone)
        using (var gone = Process.Start(new ProcessStartInfo("/bin/true")) ?? throw new InvalidOperationException()) { gone.WaitForExit(); File.WriteAllText(Path.Combine(dir, $".street.{gone.Id}.partial.mp4"), "junk"); }

        var psi = TestData.WithDefaultSigInt(new ProcessStartInfo(Cli, common) { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = dir });
        using var p = Process.Start(psi)!;
        var stderr = new System.Text.StringBuilder();
        var framesSeen = new TaskCompletionSource();
        p.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); if (e.Data?.Contains("frames") == true && e.Data.Contains("fps")) framesSeen.TrySetResult(); };
        p.BeginErrorReadLine();
        var stdout = p.StandardOutput.ReadToEndAsync();
        Assert.True(framesSeen.Task.Wait(TimeSpan.FromMinutes(2)), "no progress line: " + stderr);
        Thread.Sleep(3000);                                                           // a few seconds into the video
        Assert.False(p.HasExited, "the run ended before it could be interrupted: " + stderr);
        var sent = Stopwatch.StartNew();
        Assert.Equal(0, kill(p.Id, 2));
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(90)), "did not stop after SIGINT");
        p.WaitForExit();
        string log;
        lock (stderr) log = stderr.ToString();
        output.WriteLine($"stopped {sent.Elapsed.TotalSeconds:0.0} s after SIGINT, exit {p.ExitCode}\n{log}\n{stdout.Result}");

        Assert.Equal(130, p.ExitCode);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(log, "video file vtest.avi: 768×576"));  // said once (was twice)
        Assert.Matches(@"cancelled after \d+ frames; .*street\.partial\.mp4 holds them and is playable; the earlier .*street\.mp4 is kept as it was", log);
        Assert.Equal(earlier, File.ReadAllBytes(target));                             // was replaced by the partial run
        int partialFrames = FrameCount(Path.Combine(dir, "street.partial.mp4"));
        Assert.InRange(partialFrames, 1, 794);
        Assert.Empty(Directory.GetFiles(dir, ".street.*"));                           // no hidden temp files, the stale one included
    }

    /// <summary>Starts the CLI, waits for a stderr line containing <paramref name="ready"/>, sends SIGINT; returns exit code, stdout, stderr and seconds to stop.</summary>
    static (int Code, string Out, string Err, double StopSeconds) Interrupt(string[] args, string ready, string workingDirectory)
    {
        var psi = TestData.WithDefaultSigInt(new ProcessStartInfo(Cli, args) { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = workingDirectory });
        using var p = Process.Start(psi)!;
        var stderr = new System.Text.StringBuilder();
        var seen = new TaskCompletionSource();
        p.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); if (e.Data?.Contains(ready) == true) seen.TrySetResult(); };
        p.BeginErrorReadLine();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!seen.Task.Wait(TimeSpan.FromMinutes(3))) { p.Kill(true); throw new TimeoutException($"never printed '{ready}': {stderr}"); }
        Assert.False(p.HasExited, "the run ended before it could be interrupted: " + stderr);
        var sent = Stopwatch.StartNew();
        Assert.Equal(0, kill(p.Id, 2));
        if (!p.WaitForExit(TimeSpan.FromSeconds(90))) { p.Kill(true); throw new TimeoutException("did not stop after SIGINT: " + stderr); }
        p.WaitForExit();
        lock (stderr) return (p.ExitCode, stdout.Result, stderr.ToString(), sent.Elapsed.TotalSeconds);
    }

    [Fact]
    public void Children_start_with_SIGINT_at_its_default_even_when_this_process_inherited_it_ignored()
    {
        // a parent that ignores SIGINT, as a test run started by `nohup … &` does, starting a child two ways
        ulong Child(bool reset)
        {
            var grep = new ProcessStartInfo("/bin/grep", ["SigIgn", "/proc/self/status"]);
            if (reset) TestData.WithDefaultSigInt(grep);
            var psi = new ProcessStartInfo("/bin/sh", ["-c", "trap '' INT; exec \"$@\"", "sh", grep.FileName, .. grep.ArgumentList]) { RedirectStandardOutput = true };
            using var p = Process.Start(psi)!;
            string line = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16);
        }
        const ulong sigInt = 1UL << (2 - 1);
        Assert.NotEqual(0UL, Child(reset: false) & sigInt);    // inherited as ignored…
        Assert.Equal(0UL, Child(reset: true) & sigInt);        // …and reset for the programs the interrupt tests start
        output.WriteLine($"this test process ignores SIGINT: {(TestData.IgnoredSignals() & sigInt) != 0}");
    }

    [Fact]
    public void Ctrl_C_during_training_saves_the_checkpoint_at_the_step_reached()
    {
        var root = TestData.NewTempDir("ctrl-c-train");
        foreach (var (person, faces) in new[] { ("a", TrainingFaces.A), ("b", TrainingFaces.B) })
            for (int i = 0; i < faces.Count; i++) ImageFiles.Write(Path.Combine(root, "data", "processed", person, $"{i}.png"), faces[i]);
        var (code, stdout, stderr, seconds) = Interrupt(["fakevideo", "train", "--name", "ab", "--person-a", "a", "--person-b", "b", "--root", root,
            "--size", "16", "--encoder-dim", "16", "--filters", "4", "--batch", "2", "--iterations", "100000"], "iteration 30 ·", root);
        output.WriteLine($"stopped {seconds:0.0} s after SIGINT, exit {code}\n{stdout}\n{stderr}");
        Assert.Equal(130, code);
        var m = System.Text.RegularExpressions.Regex.Match(stdout, @"stopped at iteration (\d+):");
        Assert.True(m.Success, stdout + stderr);
        int reached = int.Parse(m.Groups[1].Value);
        Assert.True(reached >= 30, $"{reached}");
        using var model = new FaceSwapModel(new FaceSwapModelOptions(16, 16, 4));
        Assert.Equal(reached, FaceSwapCheckpoint.LoadWeights(Path.Combine(root, "data", "models", "ab", "model.ckpt"), model)); // not the step-100 one, nor none
    }
}
