using MovingImages.FaceAnalysis;
using MovingImages.Imaging;
using OpenCvSharp;
using TorchSharp;
using MovingImages.Geometry;

namespace MovingImages.Tests.FaceAnalysis;

public class FaceAlignerTests
{
    /// <summary>68 landmarks whose points 17–67 are the template at 256 px moved by a known similarity (jaw: anything).</summary>
    static (FaceLandmarks68 Landmarks, double[,] Truth) Synthetic(double angleDeg, double scale, double tx, double ty)
    {
        var template = FaceAligner.Template(256);
        double a = angleDeg * Math.PI / 180, c = Math.Cos(a) * scale, s = Math.Sin(a) * scale;
        var toImage = new[,] { { c, -s, tx }, { s, c, ty } };
        var rng = new Random(2);
        var points = new Point2f[68];
        for (int i = 0; i < 17; i++) points[i] = new Point2f(rng.Next(0, 500), rng.Next(0, 500));
        for (int i = 17; i < 68; i++) points[i] = Similarity.Apply(toImage, new Point2f((float)template[i - 17].X, (float)template[i - 17].Y));
        return (new FaceLandmarks68(points, new Size(200, 200)), toImage);
    }

    [Theory]
    [InlineData(0, 1, 0, 0)]
    [InlineData(23, 0.7, 310, 95)]
    [InlineData(-140, 2.3, -40, 600)]
    public void A_known_similarity_is_recovered_and_landmarks_land_on_the_template(double angle, double scale, double tx, double ty)
    {
        var (landmarks, toImage) = Synthetic(angle, scale, tx, ty);
        var toCrop = FaceAligner.Matrix(landmarks, 256);
        var template = FaceAligner.Template(256);
        for (int i = 17; i < 68; i++)
        {
            var p = Similarity.Apply(toCrop, landmarks.Points[i]);
            Assert.InRange(Math.Abs(p.X - template[i - 17].X), 0, 1.0);
            Assert.InRange(Math.Abs(p.Y - template[i - 17].Y), 0, 1.0);
        }
        var back = Similarity.Invert(toCrop);
        for (int r = 0; r < 2; r++)
            for (int k = 0; k < 3; k++) Assert.Equal(toImage[r, k], back[r, k], 3);
        // other sizes and coverage scale the template about the crop centre
        var small = FaceAligner.Template(64, 0.5);
        Assert.Equal(16 + 0.490127 * 32, small[10].X, 6);
    }

    [Fact]
    public void Paste_back_of_an_aligned_crop_reproduces_the_face()
    {
        using var faces = Faces.Load(FaceModels.Directory, torch.CPU);
        using var image = ImageFiles.Read(TestData.Shared("data", "faces", "sample1.jpg"));
        var face = faces.DetectFaces(image).First();
        using var aligned = FaceAligner.Align(image, face.Landmarks!, 256);
        Assert.Equal((256, 256), (aligned.Image.Cols, aligned.Image.Rows));
        using var mask = FaceAligner.HullMask(aligned.Landmarks, 256, erode: 4);
        using var pasted = FaceAligner.PasteBack(image, aligned.Image, aligned.ToImage, mask);
        // Inside the face mask (mapped into the frame) the pixels come back; outside they are untouched.
        using var warpedMask = new Mat();
        using (var m = FaceAligner.ToMat(aligned.ToImage))
            Cv2.WarpAffine(mask, warpedMask, m, image.Size(), InterpolationFlags.Linear);
        using var diff = new Mat();
        Cv2.Absdiff(image, pasted, diff);
        using var gray = new Mat();
        Cv2.CvtColor(diff, gray, ColorConversionCodes.BGR2GRAY);
        using var inner = new Mat();
        Cv2.Threshold(warpedMask, inner, 254, 255, ThresholdTypes.Binary);
        double meanInside = Cv2.Mean(gray, inner).Val0;
        Assert.True(Cv2.CountNonZero(inner) > 5000, "the mask should cover the face");
        Assert.True(meanInside < 4, $"mean difference inside the face {meanInside:0.00} grey levels (two bilinear resamplings)");
        using var outside = new Mat();
        Cv2.Threshold(warpedMask, outside, 0, 255, ThresholdTypes.BinaryInv);
        Cv2.MinMaxLoc(gray, out _, out double maxOutside, out _, out _, outside);
        Assert.Equal(0, maxOutside);
    }
}
