using System.Formats.Tar;
using System.IO.Compression;
using MovingImages.Fetch;

namespace MovingImages.Tests.Fetch;

public class TarGzTests
{
    static string Archive(string dir, byte[] model)
    {
        string path = Path.Combine(dir, "pkg.tgz");
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        var entry = new PaxTarEntry(TarEntryType.RegularFile, "package/model/net.bin") { DataStream = new MemoryStream(model) };
        tar.WriteEntry(entry);
        return path;
    }

    [Fact]
    public void An_extracted_file_of_the_right_size_but_damaged_content_is_extracted_again()
    {
        var dir = TestData.NewTempDir("targz");
        var model = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray();
        string archive = Archive(dir, model), dest = Path.Combine(dir, "out"), target = Path.Combine(dest, "net.bin");
        Assert.Equal(1, TarGz.ExtractFolder(archive, "package/model/", dest));
        Assert.Equal(model, File.ReadAllBytes(target));

        var replaced = new List<string>();
        Assert.Equal(1, TarGz.ExtractFolder(archive, "package/model/", dest, replaced: replaced));
        Assert.Empty(replaced);                                            // intact: kept

        var damaged = (byte[])model.Clone();
        damaged[1000] ^= 0xFF;                                             // same size, one byte off (was "present")
        File.WriteAllBytes(target, damaged);
        Assert.Equal(1, TarGz.ExtractFolder(archive, "package/model/", dest, replaced: replaced));
        Assert.Equal(["net.bin"], replaced);
        Assert.Equal(model, File.ReadAllBytes(target));
    }
}
