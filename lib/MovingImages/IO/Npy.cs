using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace MovingImages.IO;

/// <summary>NumPy <c>.npy</c> files (format 1.0) of little-endian float32, for exchanging tensors with other tools.</summary>
public static partial class Npy
{
    static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Writes a C-ordered float32 array of the given shape, atomically (temp file, then rename).</summary>
    public static void Write(string path, ReadOnlySpan<float> data, IReadOnlyList<long> shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != data.Length) throw new ArgumentException($"shape ({string.Join(", ", shape)}) holds {count} values, got {data.Length}");
        string dims = shape.Count == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        int unpadded = Magic.Length + 2 + 2 + dict.Length + 1;
        int padding = (64 - unpadded % 64) % 64;
        string header = dict + new string(' ', padding) + "\n";
        var bytes = MemoryMarshal.AsBytes(data).ToArray();
        AtomicFile.Write(path, tmp =>
        {
            using var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write);
            stream.Write(Magic);
            stream.WriteByte(1);
            stream.WriteByte(0);
            Span<byte> len = stackalloc byte[2];
            BitConverter.TryWriteBytes(len, (ushort)header.Length);
            stream.Write(len);
            stream.Write(Encoding.ASCII.GetBytes(header));
            stream.Write(bytes);
        });
    }

    /// <summary>Reads a float32 (little-endian, C order) <c>.npy</c> file.</summary>
    /// <exception cref="InvalidDataException">Not a .npy file, or not float32 C order; the message says which.</exception>
    public static (float[] Data, long[] Shape) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic)) throw new InvalidDataException($"{path}: byte 0: not a .npy file (no \\x93NUMPY magic)");
        int major = bytes[6];
        int headerLen, start;
        if (major == 1) { headerLen = BitConverter.ToUInt16(bytes, 8); start = 10; }
        else if (major is 2 or 3) { headerLen = (int)BitConverter.ToUInt32(bytes, 8); start = 12; }
        else throw new InvalidDataException($"{path}: byte 6: unsupported .npy version {major}");
        if (start + headerLen > bytes.Length) throw new InvalidDataException($"{path}: header runs past the end of the file");
        string header = Encoding.ASCII.GetString(bytes, start, headerLen);
        if (!header.Contains("'descr': '<f4'", StringComparison.Ordinal)) throw new InvalidDataException($"{path}: only little-endian float32 ('<f4') is supported; header: {header.Trim()}");
        if (!header.Contains("'fortran_order': False", StringComparison.Ordinal)) throw new InvalidDataException($"{path}: Fortran-ordered arrays are not supported");
        var m = ShapePattern().Match(header);
        if (!m.Success) throw new InvalidDataException($"{path}: no shape in header {header.Trim()}");
        var shape = m.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        int offset = start + headerLen;
        if (bytes.Length - offset != count * 4)
            throw new InvalidDataException($"{path}: shape ({string.Join(", ", shape)}) needs {count * 4:N0} data bytes, the file has {bytes.Length - offset:N0}");
        var data = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(offset)).ToArray();
        return (data, shape);
    }

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
