from bot.nlu.normalize import is_meaningful, normalise


def test_traditional_becomes_simplified():
    assert normalise("請問退貨運費誰出") == "请问退货运费谁出"


def test_full_width_becomes_half_width_and_lower_case():
    assert normalise("ＸＬ码有货吗？１２３") == "xl码有货吗?123"


def test_weibo_noise_is_stripped_and_a_topic_keeps_its_words():
    text = "回复@小王:#双十一# @品牌官方客服 我的快递到哪了 http://t.cn/A6abcd [doge]"
    assert normalise(text) == "双十一 我的快递到哪了"
    # a tag may be all the verdict there is: "#差评# @品牌" said nothing
    assert normalise("#差评# @某品牌官方") == "差评" and normalise("#避雷#这家的衣服") == "避雷 这家的衣服"


def test_punctuation_runs_and_repeated_characters_collapse():
    assert normalise("怎么还不发货！！！？？？") == "怎么还不发货?"
    assert normalise("a" * 600) == "aaa"
    assert normalise("啊啊啊啊啊啊啊") == "啊啊啊"


def test_emoji_removed_and_length_capped():
    assert normalise("退款😀😀😀到账了吗🙏") == "退款 到账了吗"
    assert len(normalise("退" * 10_000, max_chars=200)) <= 200


def test_a_long_text_keeps_its_start_and_its_end_within_the_cap():
    """A long review says what it thinks at its start or at its end; the middle is description."""
    text = "差评。" + "".join(f"第{day}天用着还行，" for day in range(100)) + "最后还是坏了，要退货"
    read = normalise(text, max_chars=200)
    assert len(read) <= 200 and read.startswith("差评。第0天") and read.endswith("最后还是坏了,要退货")
    assert normalise("短评 还行", max_chars=200) == "短评 还行"


def test_emoji_with_a_verdict_is_read_as_a_word():
    assert normalise("👍👍👍") == "赞 赞 赞" and is_meaningful(normalise("👍👍👍"))
    assert normalise("退款😡到账了吗") == "退款 生气 到账了吗"
    assert normalise("🤮") == "恶心" and normalise("♥♥") == "喜欢 喜欢"


def test_platform_emoticons_with_a_verdict_are_read_as_a_word_and_the_rest_dropped():
    """WeChat and Weibo send their own emoticons as text: "[强][强][强]" is "👍👍👍", and was declined as
    saying nothing; an older WeChat client's "/::@" (angry) made the message start with "/"."""
    assert normalise("[强][强][强]") == "赞 赞 赞" and normalise("[Good]") == "赞"
    assert normalise("/:strong/:strong") == "赞 赞" and normalise("/:weak") == "差评"
    assert normalise("/::@ 东西坏了 退货") == "生气 东西坏了 退货"
    assert normalise("质量太差了[怒]") == "质量太差了 生气" and normalise("[心碎]") == "失望"
    assert normalise("/::)谢谢[玫瑰] 收到了[OK]") == "谢谢 收到了"
    assert normalise("/::-O困了") == "困了"  # the longest code: not "/::-" and an "O"
    assert not is_meaningful(normalise("[微笑][捂脸]/::)"))


def test_cantonese_becomes_the_mandarin_the_models_read():
    """No training example is Cantonese: "係唔係正貨嚟㗎" was taken for asking whether the bot is a robot."""
    assert normalise("你哋啲衫係唔係正貨嚟㗎?") == "你们些衫是不是正货?"
    assert normalise("點解我嘅退款仲未到") == "为什么我的退款还没到"
    assert normalise("唔該轉真人") == "请转真人" and normalise("唔該晒") == "谢谢" and normalise("唔好意思") == "不好意思"
    # Mandarin written with the same characters stays as it is
    for mandarin in ("需本人到网点解锁", "唔,还可以", "关系不大", "申请仲裁", "然而家里没人", "听日语歌"):
        assert normalise(mandarin) == mandarin


def test_a_row_of_stars_is_a_rating_of_its_filled_stars():
    """Read as emoji, "★☆☆☆☆" was noise and the message was declined as saying nothing."""
    assert normalise("★☆☆☆☆") == "一星" and normalise("★★☆☆☆ 质量一般") == "两星 质量一般"
    assert normalise("⭐⭐⭐⭐⭐ 满意") == "五星 满意" and normalise("⭐ ⭐ ⭐") == "三星"
    assert normalise("⭐" * 9) == "五星"
    # one star is the word; a row with none filled says nothing
    assert normalise("给你一个⭐") == "给你一个 星" and not is_meaningful(normalise("☆☆☆☆☆"))


def test_meaningful():
    assert not is_meaningful(normalise("😀😀😀"))
    assert not is_meaningful(normalise("？？？。。。"))
    assert not is_meaningful(normalise("\x00\x01\x02\ufffd"))
    assert is_meaningful(normalise("在吗"))
