using System.Buffers;
using System.Text;
using System.Text.Json;
using OpenCvSharp;
using MovingImages.Drawing;

namespace MovingImages.FaceAnalysis;

/// <summary>Faces as JSON lines and as drawings.</summary>
public static class FaceOutput
{
    /// <summary>
    /// One face as a single-line JSON object: <c>{"x","y","w","h","score","landmarks":[[x,y],…],"descriptor":[…]}</c>
    /// (x, y top-left, image pixels; landmarks and descriptor only when present).
    /// </summary>
    public static string JsonLine(FaceRecord face)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            Geometry.DetectionJson.WriteBox(w, face.Box, decimals: 2);
            w.WriteNumber("score", Math.Round(face.Score, 4));
            if (face.Landmarks is { } lm)
            {
                w.WriteStartArray("landmarks");
                foreach (var p in lm.Points)
                {
                    w.WriteStartArray();
                    w.WriteNumberValue(Math.Round(p.X, 2));
                    w.WriteNumberValue(Math.Round(p.Y, 2));
                    w.WriteEndArray();
                }
                w.WriteEndArray();
            }
            if (face.Descriptor is { } d)
            {
                w.WriteStartArray("descriptor");
                foreach (var v in d) w.WriteNumberValue(Math.Round(v, 6));
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A copy of the image with each face's box, id ("#1" …, by score) and landmarks drawn.</summary>
    public static Mat Draw(Mat image, IReadOnlyList<FaceRecord> faces, Func<FaceRecord, string>? caption = null)
    {
        var canvas = Annotator.Draw(image, faces.Select((f, i) => (f.Box, caption?.Invoke(f) ?? $"#{i + 1} {f.Score:0.00}", Annotator.ClassColor(i, 12))));
        foreach (var f in faces)
            if (f.Landmarks is { } lm) DrawLandmarks(canvas, lm);
        return canvas;
    }

    /// <summary>Draws the 68 points of <paramref name="landmarks"/> on <paramref name="canvas"/> in place (lime dots sized to the image).</summary>
    public static void DrawLandmarks(Mat canvas, FaceLandmarks68 landmarks)
    {
        int radius = Math.Max(1, Math.Min(canvas.Rows, canvas.Cols) / 400);
        foreach (var p in landmarks.Points) Cv2.Circle(canvas, new Point((int)Math.Round(p.X), (int)Math.Round(p.Y)), radius, Scalar.LimeGreen, -1, LineTypes.AntiAlias);
    }
}
