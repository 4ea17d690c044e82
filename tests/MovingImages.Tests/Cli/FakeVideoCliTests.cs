using MovingImages.FaceSwap;
using MovingImages.Imaging;
using MovingImages.Tests.FaceSwap;

namespace MovingImages.Tests.Cli;

/// <summary><c>movingimages fakevideo …</c> and <c>bench fakevideo</c> on small models.</summary>
public class FakeVideoCliTests
{
    static Task<(int Code, string Out, string Err)> Run(params string[] args) => CliTests.Run(args);

    [Fact]
    public async Task Summary_prints_the_chapters_counts()
    {
        var (code, stdout, stderr) = await Run("fakevideo", "summary");
        Assert.True(code == 0, stderr);
        Assert.Contains("model total 82,062,470 (encoder 69,662,976 + 2 × decoder 6,199,747)", stdout);
        var (bad, _, err) = await Run("fakevideo", "summary", "--size", "40");
        Assert.NotEqual(0, bad);
        Assert.Contains("image size must be a positive multiple of 16, got 40", err);
    }

    [Fact]
    public async Task Train_reports_progress_writes_checkpoint_and_preview_and_resumes()
    {
        var root = TestData.NewTempDir("cli-train");
        foreach (var (person, faces) in new[] { ("a", TrainingFaces.A), ("b", TrainingFaces.B) })
            for (int i = 0; i < faces.Count; i++) ImageFiles.Write(Path.Combine(root, "data", "processed", person, $"{i}.png"), faces[i]);
        string[] project = ["--name", "ab", "--person-a", "a", "--person-b", "b", "--root", root, "--size", "16", "--encoder-dim", "16", "--filters", "4"];

        var (code, stdout, stderr) = await Run(["fakevideo", "train", .. project, "--iterations", "12", "--batch", "2", "--precision", "bf16", "--preview-every", "6"]);
        Assert.True(code == 0, stderr);
        Assert.Matches(@"iteration 10 · loss A \d\.\d{4} · loss B \d\.\d{4} · \d+\.\d samples/s", stderr); // a line every 10 steps off a terminal
        Assert.Contains("trained to iteration 12", stdout);
        string model = Path.Combine(root, "data", "models", "ab");
        Assert.True(File.Exists(Path.Combine(model, "model.ckpt")));
        using (var preview = ImageFiles.Read(Path.Combine(model, "preview.png")))
            Assert.Equal((3 * 16, 4 * 16), (preview.Cols, preview.Rows));   // face, itself, swapped; 2 faces of each person (the batch)
        Assert.Empty(Directory.GetFiles(model, "*.tmp*"));                 // written atomically, nothing left over

        (code, stdout, stderr) = await Run(["fakevideo", "train", .. project, "--iterations", "3", "--batch", "2"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("trained to iteration 15", stdout);                // resumed

        (code, _, stderr) = await Run(["fakevideo", "train", .. project, "--iterations", "3", "--precision", "fp8"]);
        Assert.NotEqual(0, code);
        Assert.Contains("unknown precision 'fp8': expected fp32, bf16 or fp16", stderr);
        (code, _, stderr) = await Run(["fakevideo", "train", .. project, "--iterations", "3", "--identity-every", "2"]);
        Assert.NotEqual(0, code);
        Assert.Contains("--identity-every needs --identity-video", stderr);
        (code, _, stderr) = await Run(["fakevideo", "train", .. project[..^2], "--filters", "8", "--iterations", "1"]);
        Assert.NotEqual(0, code);
        Assert.Contains("is for a model of", stderr);                       // a checkpoint of other sizes is refused, not overwritten
    }

    [Fact]
    public async Task Bench_times_each_precision_against_fp32()
    {
        var (code, stdout, stderr) = await Run("bench", "fakevideo", "--size", "16", "--encoder-dim", "16", "--filters", "4", "--steps", "1",
            "--batches", "2", "--precision", "fp32", "bf16", "--video", "none.avi");
        Assert.True(code == 0, stderr);
        Assert.Matches(@"fakevideo: batch 2, fp32: \d+\.\d samples/s \(\d+\.\d\d s per step of A and B\), 1\.00× fp32", stdout);
        Assert.Matches(@"fakevideo: batch 2, bf16: \d+\.\d samples/s \(\d+\.\d\d s per step of A and B\), \d+\.\d\d× fp32", stdout);
        Assert.Contains("conversion timing skipped: needs none.avi", stderr);
    }
}
