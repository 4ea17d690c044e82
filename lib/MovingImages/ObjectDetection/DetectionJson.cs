using System.Buffers;
using System.Text;
using System.Text.Json;

namespace MovingImages.ObjectDetection;

/// <summary>Detections as JSON lines: <c>{"label","class","score","x","y","w","h"}</c>, x/y the top-left corner in image pixels.</summary>
public static class DetectionJson
{
    /// <summary>One detection as a single-line JSON object.</summary>
    public static string Line(Detection d)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("label", d.Label);
            w.WriteNumber("class", d.ClassId);
            w.WriteNumber("score", Math.Round(d.Score, 4));
            w.WriteNumber("x", Math.Round(d.Box.X, 1));
            w.WriteNumber("y", Math.Round(d.Box.Y, 1));
            w.WriteNumber("w", Math.Round(d.Box.Width, 1));
            w.WriteNumber("h", Math.Round(d.Box.Height, 1));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
