using MovingImages.FaceAnalysis;
using MovingImages.FaceSwap;
using MovingImages.Imaging;
using MovingImages.Media;
using MovingImages.Tests.FaceAnalysis;
using MovingImages.Video;
using OpenCvSharp;
using TorchSharp;
using Xunit.Abstractions;

namespace MovingImages.Tests.FaceSwap;

/// <summary>The book's recipe end to end on Megamind.avi with a small model: the woman's face becomes the man's.</summary>
public class FaceItTests(ITestOutputHelper output)
{
    static string Megamind => TestData.Shared("data", "video", "Megamind.avi");

    static Mat FrameAt(int index) => FrameSources.ReadAt(Megamind, index);

    static (int, int) ImageSize(string path)
    {
        using var image = ImageFiles.Read(path);
        return (image.Cols, image.Rows);
    }

    [Fact]
    public void Preprocess_train_and_convert_with_the_face_filter()
    {
        var root = TestData.NewTempDir("faceit");
        var faceit = new FaceIt("woman_to_man", "woman", "man", root)
        {
            FaceModels = FaceModels.Directory,
            ModelOptions = new FaceSwapModelOptions(32, 64, 16),
            FilterThreshold = 0.465f, // see FaceFilterTests: these animated faces need a tighter threshold than dlib's 0.6
            CropSize = 128,
        };
        faceit.Add("woman", Megamind);
        faceit.Add("man", Megamind);
        faceit.SetPersonPhoto("woman", Megamind, 70, new Rect(200, 170, 220, 230)); // her face, cut from a frame
        Assert.Equal((220, 230), ImageSize(faceit.PersonPhoto("woman")));
        faceit.SetPersonPhoto("man", Megamind, 120);                                  // he is alone in this one
        Assert.Equal((720, 528), ImageSize(faceit.PersonPhoto("man")));
        Assert.Throws<ArgumentException>(() => faceit.SetPersonPhoto("man", Megamind, 120, new Rect(600, 0, 200, 100)));
        Assert.Throws<ArgumentOutOfRangeException>(() => faceit.SetPersonPhoto("man", Megamind, 5000));

        var pre = faceit.Preprocess(everyNthFrame: 10);
        output.WriteLine(string.Join("; ", pre));
        Assert.All(pre, p => Assert.True(p.Faces >= 3, $"{p.Person}: only {p.Faces} faces"));
        Assert.True(pre[0].Rejected > 0, "the woman's filter should reject the men");

        torch.random.manual_seed(5);
        var steps = faceit.Train(40, new TrainingOptions(BatchSize: 8, LearningRate: 1e-3));
        Assert.Equal(40, steps.Count);
        Assert.True(File.Exists(faceit.CheckpointPath));
        var more = faceit.Train(5, new TrainingOptions(BatchSize: 8, LearningRate: 1e-3));
        Assert.Equal(45, more[^1].Iteration); // resumed from the checkpoint

        var (video, stats) = faceit.Convert(Megamind, new ConvertOptions(Duration: 2.0));
        output.WriteLine($"{stats}");
        Assert.Equal(48, stats.Frames);                                      // frames 0–47 are the first 2.0 s at 23.976 fps
        Assert.True(stats.FacesSwapped > 0 && stats.FacesSwapped < stats.FacesSeen, $"{stats.FacesSwapped} of {stats.FacesSeen} faces swapped");
        var streams = Ffmpeg.Probe(video);
        Assert.Equal(48, Assert.Single(streams, s => s.Type == "video").Frames);
        Assert.Single(streams, s => s.Type == "audio");
        Assert.InRange(Ffmpeg.AudioDuration(video).TotalSeconds, 48 / 23.976 - MovingImages.Tests.Video.PipelineTests.AacSlack, 48 / 23.976 + MovingImages.Tests.Video.PipelineTests.AacSlack);
        using (var check = new VideoCapture(video))
        {
            Assert.Equal(720, (int)check.Get(VideoCaptureProperties.FrameWidth));
            Assert.Equal(528, (int)check.Get(VideoCaptureProperties.FrameHeight));
            Assert.Equal(23.976, check.Get(VideoCaptureProperties.Fps), 2);
        }
    }

    [Fact]
    public void Converting_a_frame_changes_only_the_filtered_face()
    {
        torch.random.manual_seed(6);
        using var model = new FaceSwapModel(new FaceSwapModelOptions(32, 64, 16));
        using var faces = Faces.Load(FaceModels.Directory, torch.CPU);
        using var frame = FrameAt(45);                                       // the woman in front, a man behind her on the right
        using var reference = FrameAt(70);
        var her = faces.DetectFaces(reference, FaceOptions.Default with { Descriptors = true }).OrderByDescending(f => f.Box.Area).First();
        var filter = new FaceFilter([her.Descriptor!], 0.465f);
        var converter = new FaceSwapConverter(model, faces, new ConvertOptions(Filter: filter));
        var (converted, info) = converter.Convert(frame);
        using (converted)
        {
            Assert.Equal(2, info.Faces);
            Assert.Equal(1, info.Swapped);
            using var mask = info.Masks.Single();
            using var gray = FrameDifference.Gray(frame, converted);
            Assert.Equal(0, FrameDifference.MaxOutside(gray, mask));         // untouched outside the face mask
            var man = faces.Locate(frame).Single(f => f.Box.CenterX > 400);   // the background man: left alone
            using var manRegion = new Mat(gray, new Rect((int)man.Box.X, (int)man.Box.Y, (int)man.Box.Width, (int)man.Box.Height));
            Assert.Equal(0, Cv2.CountNonZero(manRegion));
            Assert.True(Cv2.CountNonZero(gray) > 2000, "her face should have changed");
        }
        foreach (var m in info.Masks) m.Dispose();
    }
}
