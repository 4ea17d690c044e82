using OpenCvSharp;

namespace MovingImages.Tests.Cli;

public class FacesVideoTests
{
    /// <summary>Pixels close to the landmark colour (lime green) over the first frames of a video.</summary>
    static int LimePixels(string video, int frames)
    {
        using var capture = new VideoCapture(video);
        using var frame = new Mat();
        int count = 0;
        for (int i = 0; i < frames && capture.Read(frame) && !frame.Empty(); i++)
        {
            using var mask = new Mat();
            Cv2.InRange(frame, new Scalar(10, 165, 10), new Scalar(90, 245, 90), mask);
            count += Cv2.CountNonZero(mask);
        }
        return count;
    }

    [Fact]
    public void Faces_on_a_video_draw_the_landmarks_when_asked()
    {
        var dir = TestData.NewTempDir("faces-video");
        string input = TestData.Shared("data", "video", "Megamind.avi");
        string plain = Path.Combine(dir, "plain.mp4"), marked = Path.Combine(dir, "marked.mp4");
        string[] common = ["faces", input, "--models", MovingImages.Tests.FaceAnalysis.FaceModels.Directory, "--max-frames", "12"];
        var (code, _, err) = Notebooks.CliProcess.Run([.. common, "--out", plain], TimeSpan.FromMinutes(3));
        Assert.True(code == 0, err);
        (code, _, err) = Notebooks.CliProcess.Run([.. common, "--landmarks", "--out", marked], TimeSpan.FromMinutes(3));
        Assert.True(code == 0, err);
        int without = LimePixels(plain, 12), with = LimePixels(marked, 12);
        Assert.True(with > without + 12 * 68, $"lime pixels: {with} with --landmarks, {without} without"); // was: the same video
    }
}
