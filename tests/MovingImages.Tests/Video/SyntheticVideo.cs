using OpenCvSharp;
using MovingImages.Geometry;

namespace MovingImages.Tests.Video;

/// <summary>A test-made video: coloured rectangles moving over noise, with the true box of each in every frame.</summary>
public sealed class SyntheticVideo
{
    public const int Width = 320, Height = 240;
    public required string Path { get; init; }
    public required int Frames { get; init; }
    public required double Fps { get; init; }
    /// <summary>Per frame: (object id, box).</summary>
    public required IReadOnlyList<IReadOnlyList<(int Id, Box Box)>> Truth { get; init; }

    /// <summary>Three rectangles on straight paths (one bouncing), written with OpenCV as Motion-JPEG.</summary>
    public static SyntheticVideo Write(string dir, int frames = 120, double fps = 25)
    {
        var objects = new (Scalar Color, Func<int, Box> At)[]
        {
            (new Scalar(0, 0, 255), t => new Box(10 + 2f * t, 20, 40, 60)),
            (new Scalar(0, 255, 0), t => new Box(260 - 1.5f * t, 120 + 0.3f * t, 50, 40)),
            (new Scalar(255, 0, 0), t => new Box(150, 10 + 90 + 80 * MathF.Sin(t / 15f), 30, 30)),
        };
        var path = System.IO.Path.Combine(dir, "synthetic.avi");
        var truth = new List<IReadOnlyList<(int, Box)>>();
        var rng = new Random(1);
        using var writer = new VideoWriter(path, FourCC.MJPG, fps, new Size(Width, Height));
        Assert.True(writer.IsOpened(), "OpenCV could not open a Motion-JPEG writer");
        using var frame = new Mat(Height, Width, MatType.CV_8UC3);
        for (int t = 0; t < frames; t++)
        {
            Cv2.Randu(frame, Scalar.All(0), Scalar.All(90));
            var boxes = new List<(int, Box)>();
            for (int id = 0; id < objects.Length; id++)
            {
                var b = objects[id].At(t).ClipTo(Width, Height);
                if (b.Area <= 0) continue;
                Cv2.Rectangle(frame, new Rect((int)b.X, (int)b.Y, (int)b.Width, (int)b.Height), objects[id].Color, -1);
                boxes.Add((id, b));
            }
            truth.Add(boxes);
            writer.Write(frame);
        }
        return new SyntheticVideo { Path = path, Frames = frames, Fps = fps, Truth = truth };
    }
}
