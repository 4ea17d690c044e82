using System.Formats.Tar;
using System.IO.Compression;

namespace MovingImages.Fetch;

/// <summary>Extraction from .tgz archives (npm packages).</summary>
public static class TarGz
{
    /// <summary>
    /// Extracts the regular files directly under <paramref name="folder"/> (e.g. "package/model/") into
    /// <paramref name="destination"/>, each written atomically; a file already there is kept only when its bytes are the
    /// archive's (the archive is checksummed, so this verifies every extracted file; one of the right size but damaged
    /// content is written again and its name added to <paramref name="replaced"/>). Returns how many files were taken
    /// (those <paramref name="include"/> accepts, or all).
    /// </summary>
    public static int ExtractFolder(string archive, string folder, string destination, Func<string, bool>? include = null, ICollection<string>? replaced = null)
    {
        Directory.CreateDirectory(destination);
        using var file = File.OpenRead(archive);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        int count = 0;
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            string name = entry.Name.Replace('\\', '/');
            if (!name.StartsWith(folder, StringComparison.Ordinal)) continue;
            string rest = name[folder.Length..];
            if (rest.Length == 0 || rest.Contains('/') || rest.Contains("..", StringComparison.Ordinal)) continue;
            if (include != null && !include(rest)) continue;
            count++;
            string target = Path.Combine(destination, rest);
            var content = new MemoryStream();
            entry.DataStream?.CopyTo(content);
            if (File.Exists(target))
            {
                if (new FileInfo(target).Length == content.Length && File.ReadAllBytes(target).AsSpan().SequenceEqual(content.GetBuffer().AsSpan(0, (int)content.Length))) continue;
                replaced?.Add(rest);
            }
            IO.AtomicFile.Write(target, tmp =>
            {
                using var output = File.Create(tmp);
                output.Write(content.GetBuffer(), 0, (int)content.Length);
            });
        }
        return count;
    }
}
