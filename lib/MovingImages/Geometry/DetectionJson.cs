using System.Buffers;
using System.Text;
using System.Text.Json;

namespace MovingImages.Geometry;

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
            WriteBox(w, d.Box);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes a box as "x", "y" (top-left), "w", "h" in pixels, to <paramref name="decimals"/> places (0.1 px by default).</summary>
    public static void WriteBox(Utf8JsonWriter w, Box box, int decimals = 1)
    {
        w.WriteNumber("x", Math.Round(box.X, decimals));
        w.WriteNumber("y", Math.Round(box.Y, decimals));
        w.WriteNumber("w", Math.Round(box.Width, decimals));
        w.WriteNumber("h", Math.Round(box.Height, decimals));
    }
}
