using MovingImages.Darknet;

namespace MovingImages.Tests.Cli;

/// <summary>Users' damaged or odd files, through the real command line: one clear line, never a stack trace.</summary>
public class BadInputCliTests
{
    [Fact]
    public void An_unused_cfg_key_is_warned_once_with_file_and_line_as_darknet_does()
    {
        var dir = TestData.NewTempDir("cfg-unused");
        var lines = File.ReadAllLines(TestData.Cfg("yolov3-tiny.cfg")).ToList();
        int maxpool = lines.FindIndex(l => l.Trim() == "[maxpool]");
        lines.Insert(maxpool + 1, "foo=bar");
        string cfg = Path.Combine(dir, "odd.cfg");
        File.WriteAllLines(cfg, lines);
        var (_, _, weights) = SyntheticModels.Get("yolov3-tiny.cfg");   // maxpool has no weights: they still fit
        var (code, _, stderr) = Notebooks.CliProcess.Run(["locate", TestData.Image("dog.jpg"), "--cfg", cfg, "--weights", weights,
            "--names", TestData.CocoNames, "--out", Path.Combine(dir, "dog.jpg")], TimeSpan.FromMinutes(2));
        Assert.True(code == 0, stderr);
        string expected = $"warning: {cfg}:{maxpool + 2}: [maxpool] key 'foo' is not used";
        Assert.Single(stderr.Split('\n'), l => l.Trim() == expected);
    }

    [Fact]
    public void Weights_with_NaN_are_refused_in_one_line_with_layer_and_byte()
    {
        var (config, _, good) = SyntheticModels.Get("yolov3-tiny.cfg");
        var bytes = File.ReadAllBytes(good);
        int kernelStart = 20 + 4 * 4 * config.ConvolutionalLayers[0].Filters;
        for (int k = 0; k < 1000; k++) BitConverter.GetBytes(float.NaN).CopyTo(bytes, kernelStart + 4 * k);
        var dir = TestData.NewTempDir("nan-weights");
        string weights = Path.Combine(dir, "nan.weights");
        File.WriteAllBytes(weights, bytes);
        var (code, stdout, stderr) = Notebooks.CliProcess.Run(["locate", TestData.Image("dog.jpg"), "--cfg", TestData.Cfg("yolov3-tiny.cfg"), "--weights", weights,
            "--names", TestData.CocoNames, "--out", Path.Combine(dir, "dog.jpg")], TimeSpan.FromMinutes(2));
        Assert.Equal(1, code);                                            // was: "0 objects", exit 0
        Assert.Contains($"{weights}: layer 0 (convolutional, line", stderr);
        Assert.Contains($"kernel: value 0 at byte {kernelStart:N0} is NaN", stderr);
        Assert.DoesNotContain("   at ", stderr);                          // no stack trace
        Assert.False(File.Exists(Path.Combine(dir, "dog.jpg")));
        Assert.DoesNotContain("objects", stdout);
    }
}

public class DamagedMediaCliTests
{
    static string[] Locate(string input, string output)
    {
        var (_, _, weights) = SyntheticModels.Get("yolov3-tiny.cfg");
        return ["locate", input, "--cfg", TestData.Cfg("yolov3-tiny.cfg"), "--weights", weights, "--names", TestData.CocoNames, "--size", "320", "--out", output];
    }

    [Fact]
    public void A_video_cut_short_is_reported_against_its_headers_frame_count()
    {
        var dir = TestData.NewTempDir("cut-video");
        var bytes = File.ReadAllBytes(TestData.Shared("data", "video", "vtest.avi"));
        string cut = Path.Combine(dir, "cut.avi");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 40)]);                    // the first 2.5 %: the header still says 795 frames
        var (code, _, stderr) = Notebooks.CliProcess.Run(Locate(cut, Path.Combine(dir, "out.mp4")), TimeSpan.FromMinutes(3));
        Assert.True(code == 0, stderr);                                             // what could be decoded is written…
        Assert.Matches(@"warning: the video ended after \d+ of the 795 frames its header announces: the file is truncated or damaged", stderr); // …and said
        Assert.True(File.Exists(Path.Combine(dir, "out.mp4")));
    }

    [Fact]
    public void A_still_image_named_as_a_video_says_so()
    {
        var dir = TestData.NewTempDir("jpg-as-avi");
        string fake = Path.Combine(dir, "holiday.avi");
        File.Copy(TestData.Image("dog.jpg"), fake);
        var (code, _, stderr) = Notebooks.CliProcess.Run(Locate(fake, Path.Combine(dir, "out.mp4")), TimeSpan.FromMinutes(2));
        Assert.Equal(1, code);                                                      // was: a 1-frame "video", exit 0
        Assert.Contains($"{fake}: this is a JPEG still image, not a video", stderr);
        Assert.False(File.Exists(Path.Combine(dir, "out.mp4")));
    }
}

public class DamagedImageTests
{
    [Fact]
    public void A_JPEG_cut_short_is_named_damaged_and_intact_ones_are_not()
    {
        var dir = TestData.NewTempDir("cut-jpeg");
        foreach (var name in new[] { "dog.jpg", "eagle.jpg", "horses.jpg", "person.jpg", "messi5.jpg", "giraffe.jpg" })
            Assert.Null(MovingImages.Imaging.ImageFiles.Damage(TestData.Image(name)));
        var bytes = File.ReadAllBytes(TestData.Image("dog.jpg"));
        string cut = Path.Combine(dir, "dog.jpg");
        File.WriteAllBytes(cut, bytes[..(bytes.Length * 2 / 3)]);
        using (var decoded = MovingImages.Imaging.ImageFiles.Read(cut)) Assert.False(decoded.Empty()); // it still decodes…
        Assert.Contains("the JPEG ends before its end marker", MovingImages.Imaging.ImageFiles.Damage(cut)); // …but is named damaged
        Assert.Null(MovingImages.Imaging.ImageFiles.Damage(TestData.Cfg("yolov3-tiny.cfg")));               // not a JPEG: not our business here
    }
}

public class HelpTests
{
    [Fact]
    public async Task Help_names_the_command_as_users_type_it()
    {
        var (code, stdout, _) = await CliTests.Run(["--help"]);
        Assert.Equal(0, code);
        Assert.Contains("movingimages [command] [options]", stdout);          // was "MovingImages.Cli [command] [options]"
        Assert.DoesNotContain("MovingImages.Cli", stdout);
        (code, stdout, _) = await CliTests.Run(["locate", "--help"]);
        Assert.Contains("movingimages locate <input> [options]", stdout);
        var (empty, _, why) = await CliTests.Run(["locate", ""]);
        Assert.Equal(1, empty);
        Assert.Contains("error: no input given: name an image, a video", why);      // was a parameter called 'spec', or a missing cfg
        var (bad, said, err) = await CliTests.Run(["locat", "x.jpg"]);
        Assert.NotEqual(0, bad);
        Assert.Matches(@"'locat' was not matched\. Did you mean one of the following\?\s+locate", said + err);
    }
}

public class FakeVideoPathTests
{
    [Fact]
    public void Models_given_on_the_command_line_are_relative_to_the_current_folder_not_to_root()
    {
        var here = TestData.NewTempDir("cwd");
        var root = TestData.NewTempDir("elsewhere");
        string video = TestData.Shared("data", "video", "Megamind.avi");
        var (code, _, stderr) = Notebooks.CliProcess.Run(["fakevideo", "preprocess", "--name", "x", "--person-a", "a", "--person-b", "b", "--root", root,
            "--models", "my-models", "--videos-a", video, "--videos-b", video], TimeSpan.FromMinutes(2), workingDirectory: here);
        Assert.Equal(1, code);
        Assert.Contains($"face-api models not found in {Path.Combine(here, "my-models")}", stderr);   // was {root}/my-models
    }
}
